/**
 * RFC 7009 token revocation by the client a token was issued to: a refresh token ends its session,
 * an access token is revoked by jti until it expires. Each writes its audit row here. Anything
 * else (unknown, invalid, foreign) is ignored: the route answers 200 all the same.
 */
import { CLOCK_SKEW_SECONDS } from '@keygate/tokens';
import { recordAudit } from '../audit/service.js';
import type { AuthContext, RequestMeta } from '../context.js';
import { revokeAccessToken } from '../revocations/service.js';
import { looksLikeRefreshToken } from '../sessions/refresh-token-values.js';
import { revokeSession, sessionOfRefreshToken, type RevokeContext } from '../sessions/service.js';
import { verifiedAccessToken } from './introspection.js';

export async function revokeClientToken(ctx: RevokeContext & Pick<AuthContext, 'keys'>, clientId: string, token: string, meta: RequestMeta): Promise<void> {
  if (looksLikeRefreshToken(token)) {
    const session = await sessionOfRefreshToken(ctx, token);
    if (session && session.client_id === clientId && (await revokeSession(ctx, session.id, 'oauth_revoke'))) {
      await recordAudit(ctx.db, { event: 'oauth_token_revoked', userId: session.user_id, sessionId: session.id, ip: meta.ip, userAgent: meta.userAgent, details: { client_id: clientId, type: 'refresh_token' } });
    }
    return;
  }
  const payload = await verifiedAccessToken(ctx, token);
  if (!payload || payload.client_id !== clientId) return;
  await revokeAccessToken(ctx, payload.jti, (payload.exp + CLOCK_SKEW_SECONDS) * 1000);
  await recordAudit(ctx.db, { event: 'oauth_token_revoked', userId: payload.sid !== undefined ? payload.sub : null, sessionId: payload.sid ?? null, ip: meta.ip, userAgent: meta.userAgent, details: { client_id: clientId, type: 'access_token', jti: payload.jti } });
}
