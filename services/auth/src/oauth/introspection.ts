/**
 * RFC 7662 answers. An access token is active while liveHolder says so (the same check as a Bearer
 * route) or, for a service token, while its client exists; a refresh token while it is unspent and
 * its session live. Who may learn what is decided here, not in the route.
 */
import { TokenError, type AccessTokenClaims } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import type { OAuthClientRow } from '../db/schema.js';
import { liveHolder } from '../http/authenticate.js';
import { accessTokenRevoked } from '../revocations/service.js';
import { unspentRefreshToken } from '../sessions/service.js';
import { findClient } from './clients.js';
import { SERVICE_ROLE } from './grants/client-credentials.js';

export type Introspection = Record<string, unknown> & { active: boolean };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The payload of one of our access tokens (signature, typ, iss, aud, exp), or undefined. */
export async function verifiedAccessToken(ctx: Pick<AuthContext, 'keys'>, token: string): Promise<AccessTokenClaims | undefined> {
  if (!JWT_SHAPE.test(token)) return undefined;
  try {
    return await ctx.keys.verifyAccessToken(token);
  } catch (error) {
    if (error instanceof TokenError) return undefined;
    throw error;
  }
}

/**
 * RFC 7662 for an access token: valid, not revoked by jti, its session and user (or client) still
 * live, and asked about by the client it was issued to or by a resource server registered with
 * `--introspect`. Any other client learns nothing (RFC 7662 §2.2 lets the server answer inactive
 * to a caller not allowed to know): a token is not a question for every registered client.
 */
export async function introspectAccessToken(ctx: Pick<AuthContext, 'db' | 'config'>, payload: AccessTokenClaims, caller: OAuthClientRow): Promise<Introspection> {
  if (payload.client_id !== caller.id && !caller.introspect) return { active: false };
  if (payload.sid !== undefined) {
    if (!(await liveHolder(ctx, payload))) return { active: false };
  } else if (payload.role !== SERVICE_ROLE || (await accessTokenRevoked(ctx.db, payload.jti)) || !(await findClient(ctx.db, payload.sub))) {
    return { active: false };
  }
  return {
    active: true,
    token_type: 'Bearer',
    client_id: payload.client_id,
    sub: payload.sub,
    iss: ctx.config.issuer,
    aud: ctx.config.audience,
    exp: payload.exp,
    iat: payload.iat,
    jti: payload.jti,
    role: payload.role,
    ...(payload.sid !== undefined ? { sid: payload.sid } : {}),
    ...(payload.scope !== undefined ? { scope: payload.scope } : {}),
  };
}

/**
 * RFC 7662 for a refresh token: only its own client learns anything about it, resource servers
 * included (they are handed access tokens, never refresh tokens).
 */
export async function introspectRefreshToken(ctx: Pick<AuthContext, 'db' | 'config'>, token: string, clientId: string): Promise<Introspection> {
  const found = await unspentRefreshToken(ctx.db, token);
  if (!found) return { active: false };
  const { session, token: row } = found;
  const now = Date.now();
  if (!session || session.client_id !== clientId || session.revoked_at !== null) return { active: false };
  if (session.idle_expires_at.getTime() <= now || session.absolute_expires_at.getTime() <= now) return { active: false };
  return {
    active: true,
    token_type: 'refresh_token',
    client_id: session.client_id,
    sub: session.user_id,
    iss: ctx.config.issuer,
    exp: Math.floor(session.idle_expires_at.getTime() / 1000),
    iat: Math.floor(row.created_at.getTime() / 1000),
    sid: session.id,
    ...(session.scope !== null ? { scope: session.scope } : {}),
  };
}
