/**
 * grant_type=client_credentials (RFC 6749 §4.4): confidential service clients only. `sub` is the
 * client id, `role` is `service`, no `sid` (no session: the token lives until it expires, or is
 * revoked by jti through /oauth/revoke), no refresh token; scope = what the client is registered
 * with, or the part of it asked for (never `admin`: a service is no admin user).
 */
import { issueAccessToken } from '../../sessions/access-tokens.js';
import { OAuthErrors } from '../errors.js';
import { grantScope, parseScope } from '../scopes.js';
import type { GrantHandler } from './types.js';

export const SERVICE_ROLE = 'service';

export const clientCredentialsGrant: GrantHandler = async ({ ctx, client, params, request }) => {
  if (client.public) throw OAuthErrors.unauthorizedClient('client_credentials needs a confidential client.');
  const scope = grantScope(parseScope(params.scope), client.scopes, SERVICE_ROLE);
  const access = await issueAccessToken(ctx, { sub: client.id, role: SERVICE_ROLE, clientId: client.id, ...(scope ? { scope } : {}) });
  request.log.info({ clientId: client.id }, 'oauth client_credentials grant');
  return { access_token: access.access_token, token_type: access.token_type, expires_in: access.expires_in, ...(scope ? { scope } : {}) };
};
