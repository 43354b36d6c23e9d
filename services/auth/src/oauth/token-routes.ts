/**
 * POST /oauth/token (RFC 6749), /oauth/revoke (RFC 7009) and /oauth/introspect (RFC 7662), all
 * form-encoded and client-authenticated, all answered with Cache-Control: no-store.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '@keygate/errors';
import { CLOCK_SKEW_SECONDS, TokenError, type AccessTokenClaims } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import { findClient } from './clients.js';
import { looksLikeRefreshToken, hashRefreshToken } from '../sessions/refresh-token-values.js';
import { publishRevocation } from '../revocations/service.js';
import { revokeSession, sessionOfRefreshToken } from '../sessions/service.js';
import { requestMeta } from '../http/authenticate.js';
import { recordAudit } from '../audit/service.js';
import { insertRevokedAccessToken, isAccessTokenRevoked } from './authorization-codes.repository.js';
import { findRefreshToken } from '../sessions/refresh-tokens.repository.js';
import { findSession } from '../sessions/repository.js';
import type { OAuthClientRow } from '../db/schema.js';
import { findUserById } from '../accounts/repository.js';
import { ErrorBody } from '../schemas/auth.js';
import { Empty, IntrospectionResponse, TokenParams, TokenRequestParams, TokenResponse } from '../schemas/oauth.js';
import { noStore } from '../sessions/cookie.js';
import type { RouteOptions } from '../http/route-options.js';
import { authenticateClient } from './client-auth.js';
import { OAuthErrors } from './errors.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { clientCredentialsGrant, SERVICE_ROLE } from './grants/client-credentials.js';
import { passwordGrant } from './grants/password.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { GrantHandler } from './grants/types.js';

// A Map, not an object literal: `grant_type` is client input, and an object lookup would find
// inherited members (constructor, __proto__, toString) and treat them as grants.
const GRANTS = new Map<string, GrantHandler>([
  ['authorization_code', authorizationCodeGrant],
  ['refresh_token', refreshTokenGrant],
  ['client_credentials', clientCredentialsGrant],
  ['password', passwordGrant],
]);

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The payload of one of our access tokens (signature, typ, iss, aud, exp), or undefined. */
async function verifiedAccessToken(ctx: AuthContext, token: string): Promise<AccessTokenClaims | undefined> {
  if (!JWT_SHAPE.test(token)) return undefined;
  try {
    return await ctx.keys.verifyAccessToken(token);
  } catch (error) {
    if (error instanceof TokenError) return undefined;
    throw error;
  }
}

type Introspection = Record<string, unknown> & { active: boolean };

/**
 * RFC 7662 for an access token: valid, not revoked by jti, its session and user (or client) still
 * live, and asked about by the client it was issued to or by a resource server registered with
 * `--introspect`. Any other client learns nothing (RFC 7662 §2.2 lets the server answer inactive
 * to a caller not allowed to know): a token is not a question for every registered client.
 */
async function introspectAccessToken(ctx: AuthContext, payload: AccessTokenClaims, caller: OAuthClientRow): Promise<Introspection> {
  if (payload.client_id !== caller.id && !caller.introspect) return { active: false };
  if (await isAccessTokenRevoked(ctx.db, payload.jti)) return { active: false };
  if (payload.sid !== undefined) {
    const session = await findSession(ctx.db, payload.sid);
    if (!session || session.revoked_at !== null || session.user_id !== payload.sub) return { active: false };
    const user = await findUserById(ctx.db, payload.sub);
    if (!user || user.disabled) return { active: false };
  } else if (payload.role !== SERVICE_ROLE || !(await findClient(ctx.db, payload.sub))) {
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
async function introspectRefreshToken(ctx: AuthContext, token: string, clientId: string): Promise<Introspection> {
  const row = await findRefreshToken(ctx.db, hashRefreshToken(token));
  if (!row || row.spent_at !== null) return { active: false };
  const session = await findSession(ctx.db, row.session_id);
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

export const tokenRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx, loginLimiter }) => {
  // Every answer of these endpoints, errors included, is never cached (RFC 6749 §5.1, RFC 7009, RFC 7662 §4).
  app.addHook('onRequest', async (_request, reply) => noStore(reply));

  app.post('/oauth/token', {
    schema: { body: TokenParams, response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
  }, async (request) => {
    const params = request.body;
    const grant = GRANTS.get(params.grant_type);
    // Unknown grant names are one label, so a client cannot grow the metric without bound.
    const grantLabel = grant ? params.grant_type : 'unknown';
    try {
      const { client } = await authenticateClient(ctx, request, params);
      if (!grant || (params.grant_type === 'password' && !ctx.config.passwordGrantEnabled)) throw OAuthErrors.unsupportedGrantType();
      if (!client.grant_types.includes(params.grant_type)) throw OAuthErrors.unauthorizedClient();
      const response = await grant({ ctx, client, params, request, loginLimiter });
      ctx.metrics.oauthTokens.inc({ grant: grantLabel, outcome: 'issued' });
      return response;
    } catch (error) {
      ctx.metrics.oauthTokens.inc({ grant: grantLabel, outcome: error instanceof AppError ? error.code : 'error' });
      throw error;
    }
  });

  app.post('/oauth/revoke', {
    schema: { body: TokenRequestParams, response: { 200: Empty, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody } },
  }, async (request, reply) => {
    const { client } = await authenticateClient(ctx, request, request.body);
    const { token } = request.body;
    const meta = requestMeta(request);
    // RFC 7009 §2.2: an unknown, invalid, expired or foreign token is answered 200 all the same.
    if (looksLikeRefreshToken(token)) {
      const session = await sessionOfRefreshToken(ctx, token);
      if (session && session.client_id === client.id && (await revokeSession(ctx, session.id, 'oauth_revoke'))) {
        await recordAudit(ctx.db, { event: 'oauth_token_revoked', userId: session.user_id, sessionId: session.id, ip: meta.ip, userAgent: meta.userAgent, details: { client_id: client.id, type: 'refresh_token' } });
      }
    } else {
      const payload = await verifiedAccessToken(ctx, token);
      if (payload && payload.client_id === client.id) {
        const untilMs = (payload.exp + CLOCK_SKEW_SECONDS) * 1000;
        await insertRevokedAccessToken(ctx.db, payload.jti, untilMs);
        await publishRevocation(ctx, 'token', payload.jti, untilMs);
        await recordAudit(ctx.db, { event: 'oauth_token_revoked', userId: payload.sid !== undefined ? payload.sub : null, sessionId: payload.sid ?? null, ip: meta.ip, userAgent: meta.userAgent, details: { client_id: client.id, type: 'access_token', jti: payload.jti } });
      }
    }
    // An empty 200 (RFC 7009 §2.2: the client ignores the body); undefined sends no body at all.
    return reply.code(200).send(undefined as unknown as null);
  });

  app.post('/oauth/introspect', {
    schema: { body: TokenRequestParams, response: { 200: IntrospectionResponse, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody } },
  }, async (request) => {
    const { client } = await authenticateClient(ctx, request, request.body);
    // RFC 7662 §2.1: the caller must be authenticated; a public client (client_id alone) is not.
    if (client.public) throw OAuthErrors.invalidClient('Introspection needs a confidential client.');
    const { token } = request.body;
    if (looksLikeRefreshToken(token)) return introspectRefreshToken(ctx, token, client.id);
    const payload = await verifiedAccessToken(ctx, token);
    return payload ? introspectAccessToken(ctx, payload, client) : { active: false };
  });
};
