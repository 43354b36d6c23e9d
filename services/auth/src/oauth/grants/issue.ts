/** The token response of every user grant: an access token for the session, and its refresh token. */
import { issueAccessToken } from '../../domain/access-tokens.js';
import type { AuthContext } from '../../context.js';
import type { OAuthClientRow, SessionRow, UserRow } from '../../repositories/schema.js';
import type { TokenResponseBody } from './types.js';

export async function userTokenResponse(
  ctx: AuthContext,
  client: OAuthClientRow,
  user: Pick<UserRow, 'id' | 'role'>,
  session: Pick<SessionRow, 'id'>,
  refreshToken: string,
  scope: string | null,
): Promise<TokenResponseBody> {
  const access = await issueAccessToken(ctx, { sub: user.id, role: user.role, clientId: client.id, sid: session.id, ...(scope ? { scope } : {}) });
  return {
    access_token: access.access_token,
    token_type: access.token_type,
    expires_in: access.expires_in,
    // Only a client registered for the refresh grant gets the session's refresh token.
    ...(client.grant_types.includes('refresh_token') ? { refresh_token: refreshToken } : {}),
    ...(scope ? { scope } : {}),
  };
}
