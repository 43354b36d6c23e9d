/** The token response of every user grant: an access token for the session, and its refresh token. */
import { issueAccessToken, type IssuedAccessToken } from '../../sessions/access-tokens.js';
import type { AuthContext } from '../../context.js';
import type { OAuthClientRow, SessionRow, UserRow } from '../../db/schema.js';
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

/** The response body around an access token already issued. */
export function userTokenBody(access: IssuedAccessToken, client: OAuthClientRow, refreshToken: string, scope: string | null): TokenResponseBody {
  return {
    access_token: access.access_token,
    token_type: access.token_type,
    expires_in: access.expires_in,
    // Only a client registered for the refresh grant gets the session's refresh token.
    ...(client.grant_types.includes('refresh_token') ? { refresh_token: refreshToken } : {}),
    ...(scope ? { scope } : {}),
  };
}

export async function userTokenResponse(
  ctx: AuthContext,
  client: OAuthClientRow,
  user: Pick<UserRow, 'id' | 'role'>,
  session: Pick<SessionRow, 'id' | 'amr'>,
  refreshToken: string,
  scope: string | null,
): Promise<TokenResponseBody> {
  return userTokenBody(await userAccessToken(ctx, client, user, session, scope), client, refreshToken, scope);
}
