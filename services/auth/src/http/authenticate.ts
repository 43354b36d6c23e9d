/**
 * Bearer authentication and authorization for the auth service's own routes (/auth/me,
 * /auth/sessions, /admin/*): the token is verified by the gateway's verifier (@keygate/tokens)
 * against this service's keys, then the session row is checked so a revoked session is refused at
 * once, then the token's scope (and role) against what the route needs. The auth service checks
 * scope itself, whoever forwarded the call: a third-party client's token of an admin carries the
 * admin's role but not the `account` or `admin` scope. Every protected route uses
 * `requireBearer(ctx, { scope })` (Bearer logout: `authenticateBearer` + `authorizeCaller`), never
 * its own check.
 */
import type { FastifyRequest } from 'fastify';
import { TokenError, hasScopes, parseBearer, scopeSet, type AccessTokenClaims } from '@keygate/tokens';
import type { AuthContext, RequestMeta } from '../context.js';
import { AuthErrors } from '../errors.js';
import type { UserRow } from '../db/schema.js';
import { findUser } from '../accounts/service.js';
import { accessTokenRevoked } from '../revocations/service.js';
import { sessionById } from '../sessions/service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Caller {
  token: AccessTokenClaims;
  user: UserRow;
  /** The token's session; undefined for tokens without sid. */
  sessionId: string | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** The token of `Bearer <token>`, the scheme name in any case (the gateway's parser); else undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  return parseBearer(request.headers.authorization);
}

export async function authenticateBearer(ctx: Pick<AuthContext, 'db' | 'keys'>, token: string): Promise<Caller> {
  let payload: AccessTokenClaims;
  try {
    payload = await ctx.keys.verifyAccessToken(token);
  } catch (error) {
    if (error instanceof TokenError) throw AuthErrors.invalidToken();
    throw error;
  }
  // Service tokens (client_credentials: sub is a client id) are for the APIs behind the gateway,
  // never for the account routes of this service.
  if (!UUID.test(payload.sub)) throw AuthErrors.invalidToken();
  const user = await liveHolder(ctx, payload);
  if (!user) throw AuthErrors.invalidToken();
  return { token: payload, user, sessionId: payload.sid };
}

/**
 * The user a verified user token still speaks for: not revoked by jti, its session (if any) live
 * and the user's, the user enabled; else undefined. The one check behind Bearer routes and
 * /oauth/introspect.
 */
export async function liveHolder(ctx: Pick<AuthContext, 'db'>, payload: Pick<AccessTokenClaims, 'jti' | 'sid' | 'sub'>): Promise<UserRow | undefined> {
  if (await accessTokenRevoked(ctx.db, payload.jti)) return undefined;
  if (payload.sid !== undefined) {
    const session = await sessionById(ctx.db, payload.sid);
    if (!session || session.revoked_at !== null || session.user_id !== payload.sub) return undefined;
  }
  const user = await findUser(ctx.db, payload.sub);
  return user && !user.disabled ? user : undefined;
}

/** What a route needs of its caller's token. */
export interface BearerRequirement {
  /** The scope the token must carry: `account` on the account endpoints, `admin` on /admin/*. */
  scope: string;
  /** A role both the token and the user must have (`admin` on /admin/*). */
  role?: 'admin';
}

/** 403 insufficient_scope (naming the scope needed) unless `caller` meets `requirement`. */
export function authorizeCaller(caller: Caller, requirement: BearerRequirement): void {
  if (!hasScopes(scopeSet(caller.token.scope), [requirement.scope])) throw AuthErrors.insufficientScope(requirement.scope);
  // The token's role, which a role change cannot outlive (it revokes the user's sessions), and the user's.
  if (requirement.role !== undefined && (caller.token.role !== requirement.role || caller.user.role !== requirement.role)) {
    throw AuthErrors.insufficientScope(requirement.scope, `This needs the ${requirement.role} role.`);
  }
}

/** The preHandler of a Bearer route: authenticated, then authorized for `requirement`. */
export function requireBearer(ctx: Pick<AuthContext, 'db' | 'keys'>, requirement: BearerRequirement) {
  return async function requireBearerHook(request: FastifyRequest): Promise<void> {
    if (request.headers.authorization === undefined) throw AuthErrors.missingToken();
    const token = bearerToken(request);
    if (token === undefined) throw AuthErrors.invalidToken('The Authorization header must be "Bearer <token>".');
    const caller = await authenticateBearer(ctx, token);
    authorizeCaller(caller, requirement);
    request.caller = caller;
  };
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw AuthErrors.missingToken();
  return request.caller;
}

export function requestMeta(request: FastifyRequest): RequestMeta {
  const agent = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof agent === 'string' ? agent : null };
}
