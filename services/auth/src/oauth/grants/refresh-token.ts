/**
 * grant_type=refresh_token (RFC 6749 §6): the cookie flow's rotation and theft detection, unchanged
 * (rotateRefreshToken). The token must belong to a session of the authenticated client; it is
 * checked before rotating (and again under the rotation's lock) so another client's token is never
 * spent. A narrower `scope` may be asked for one token; the session keeps its own, and anything
 * beyond it is invalid_scope: a refresh never widens.
 */
import { scopeSet } from '@keygate/tokens';
import { rotateRefreshToken, sessionOfRefreshToken } from '../../sessions/service.js';
import { requestMeta } from '../../http/authenticate.js';
import { OAuthErrors } from '../errors.js';
import { parseScope } from '../scopes.js';
import { userAccessToken, userTokenBody } from './issue.js';
import { required, type GrantHandler } from './types.js';

export const refreshTokenGrant: GrantHandler = async ({ ctx, client, params, request }) => {
  const presented = required(params, 'refresh_token');
  const requested = parseScope(params.scope);
  const owner = await sessionOfRefreshToken(ctx, presented);
  if (!owner || owner.client_id !== client.id) throw OAuthErrors.invalidGrant('The refresh token is invalid, expired, revoked or was issued to another client.');
  const granted = scopeSet(owner.scope);
  if (requested !== undefined && !requested.every((scope) => granted.has(scope))) throw OAuthErrors.invalidScope('The requested scope exceeds what was granted.');
  const scope = requested !== undefined && requested.length > 0 ? requested.join(' ') : owner.scope;
  // Signed once the rotation's statement has committed (as for the cookie refresh).
  const result = await rotateRefreshToken(ctx, presented, requestMeta(request), { clientId: client.id }, (session, user) => userAccessToken(ctx, client, user, session, scope));
  if (!result.ok) {
    request.log.info({ reason: result.reason, sessionId: result.sessionId, clientId: client.id }, 'oauth refresh refused');
    throw OAuthErrors.invalidGrant('The refresh token is invalid, expired or revoked.');
  }
  // OIDC Core §12.2: a fresh ID token for an `openid` session, same sub and auth_time, no nonce.
  return userTokenBody(ctx, result.issued, client, { user: result.user, session: result.session }, result.refreshToken, scope);
};
