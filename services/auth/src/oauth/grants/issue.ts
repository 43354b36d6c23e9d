/**
 * The token response of every user grant: an access token for the session, its refresh token,
 * and, when the granted scope holds `openid`, an ID token bound to that access token.
 */
import { issueAccessToken, type IssuedAccessToken } from '../../sessions/access-tokens.js';
import type { AuthContext } from '../../context.js';
import type { OAuthClientRow, SessionRow, UserRow } from '../../db/schema.js';
import { idTokenFor, type IdTokenUser } from '../id-tokens.js';
import type { TokenResponseBody } from './types.js';

/** The access token a user grant hands out for `session`, with the granted scope. */
export function userAccessToken(
  ctx: AuthContext,
  client: OAuthClientRow,
  user: Pick<UserRow, 'id' | 'role'>,
  session: Pick<SessionRow, 'id' | 'amr'>,
  scope: string | null,
): Promise<IssuedAccessToken> {
  return issueAccessToken(ctx, { sub: user.id, role: user.role, clientId: client.id, sid: session.id, amr: session.amr, ...(scope ? { scope } : {}) });
}

/** The response body around an access token already issued (and the ID token, if any). */
export async function userTokenBody(
  ctx: AuthContext,
  access: IssuedAccessToken,
  client: OAuthClientRow,
  oidc: { user: IdTokenUser; session: Pick<SessionRow, 'id' | 'auth_time'>; nonce?: string | null },
  refreshToken: string,
  scope: string | null,
): Promise<TokenResponseBody> {
  const idToken = await idTokenFor(ctx, client, oidc.user, oidc.session, scope, access.access_token, oidc.nonce);
  return {
    access_token: access.access_token,
    token_type: access.token_type,
    expires_in: access.expires_in,
    // Only a client registered for the refresh grant gets the session's refresh token.
    ...(client.grant_types.includes('refresh_token') ? { refresh_token: refreshToken } : {}),
    ...(scope ? { scope } : {}),
    ...(idToken !== undefined ? { id_token: idToken } : {}),
  };
}

export async function userTokenResponse(
  ctx: AuthContext,
  client: OAuthClientRow,
  user: Pick<UserRow, 'id' | 'role'> & IdTokenUser,
  session: Pick<SessionRow, 'id' | 'auth_time' | 'amr'>,
  refreshToken: string,
  scope: string | null,
  nonce?: string | null,
): Promise<TokenResponseBody> {
  const access = await userAccessToken(ctx, client, user, session, scope);
  return userTokenBody(ctx, access, client, { user, session, nonce }, refreshToken, scope);
}
