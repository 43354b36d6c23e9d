/** POST /auth/login, /auth/login/mfa, /auth/refresh, /auth/logout, /auth/logout-all; GET /auth/sessions; DELETE /auth/sessions/{id}. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ACCOUNT_SCOPE, firstPartySessionScope } from '@keygate/tokens';
import { FIRST_PARTY_CLIENT_ID, type RequestMeta } from '../context.js';
import { issueAccessToken, type IssuedAccessToken } from './access-tokens.js';
import { authenticatePassword } from '../accounts/service.js';
import { assertMayLogIn } from '../accounts/email-verification.js';
import { PASSWORD_AMR, PASSWORD_OTP_AMR, endAllSessions, endSession, liveSessionsOf, rotateRefreshToken, sessionById, sessionOfRefreshToken, startSession, type RotatedSession, type RotatedUser } from './service.js';
import { findUser } from '../accounts/service.js';
import { completeMfaLogin, mfaEnabled, mfaLoginUser, startMfaLogin } from '../mfa/service.js';
import { LoginRefusal, MfaLoginBody } from '../schemas/mfa.js';
import { AuthErrors } from '../errors.js';
import { authenticateBearer, authorizeCaller, bearerToken, callerOf, requestMeta, requireBearer } from '../http/authenticate.js';
import { requireTrustedOrigin } from './origin-check.js';
import { idempotencyKeyOf } from '@keygate/service-kit';
import { loginAttemptId } from './login-key.js';
import type { UserRow } from '../db/schema.js';
import { ErrorBody, IdParams, LoginBody, NoQuery, SessionView, TokenResponse } from '../schemas/auth.js';
import { noStore } from '../http/no-store.js';
import { REFRESH_COOKIE, clearRefreshCookie, setRefreshCookie } from './cookie.js';
import type { RouteOptions } from '../http/route-options.js';
import type { FastifyReply } from 'fastify';

const Empty = { type: 'null' } as const;
/** A body sent to /auth/refresh or /auth/logout is read and dropped; more than this is 413. */
const IGNORED_BODY_LIMIT = 4096;

export const sessionRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx, loginLimiter }) => {
  /**
   * A login's or a refresh's answer: the new refresh cookie, no-store, and the access token. The
   * cookie is persistent (Max-Age) only when the login asked to be remembered; a refresh keeps the
   * login's choice, stored on the session.
   */
  const tokenAnswer = (reply: FastifyReply, access: IssuedAccessToken, refreshToken: string, remember: boolean) => {
    setRefreshCookie(reply, refreshToken, remember ? ctx.config.refreshTokenTtl : undefined);
    noStore(reply);
    return { access_token: access.access_token, token_type: access.token_type, expires_in: access.expires_in };
  };

  const bearer = requireBearer(ctx, { scope: ACCOUNT_SCOPE });
  const trustedOrigin = requireTrustedOrigin(ctx.config);

  /** The session and the answer of a completed login (one step, or two with a second factor). */
  const completeLogin = async (reply: FastifyReply, user: Pick<UserRow, 'id' | 'role'>, meta: RequestMeta, remember: boolean, amr: readonly string[]) => {
    // The login_success audit row is written with the session; the scope is stored on it so that
    // every refresh hands out exactly this scope, never more (a role change revokes the session).
    // A repeat of this login with its Idempotency-Key (nginx's resend) revokes the session the
    // first try started (login-key.ts).
    const scope = firstPartySessionScope(user.role);
    const idempotencyKey = idempotencyKeyOf(reply.request.headers);
    const { session, refreshToken } = await startSession(ctx, user, FIRST_PARTY_CLIENT_ID, meta, { scope, amr, remember, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) });
    const access = await issueAccessToken(ctx, { sub: user.id, role: user.role, clientId: FIRST_PARTY_CLIENT_ID, sid: session.id, scope, amr });
    ctx.metrics.logins.inc({ outcome: 'success' });
    reply.request.log.info({ userId: user.id, sessionId: session.id, amr }, 'login');
    return tokenAnswer(reply, access, refreshToken, remember);
  };

  app.post('/auth/login', {
    schema: { querystring: NoQuery, body: LoginBody, response: { 200: TokenResponse, 400: ErrorBody, 401: LoginRefusal, 403: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
  }, async (request, reply) => {
    // A resend of this attempt (same Idempotency-Key and credentials) is counted once.
    await loginLimiter.check(request.body.email, request, loginAttemptId(ctx.config, idempotencyKeyOf(request.headers), request.body.email, request.body.password));
    const meta = requestMeta(request);
    const user = await authenticatePassword(ctx, request.body.email, request.body.password, meta);
    if (!user) {
      ctx.metrics.logins.inc({ outcome: 'invalid_credentials' });
      throw AuthErrors.invalidCredentials();
    }
    assertMayLogIn(ctx.config, user);
    const remember = request.body.remember === true;
    // Only a right password reaches this: the answer says "a code is needed" to nobody else.
    if (await mfaEnabled(ctx.db, user.id)) {
      const mfaToken = await startMfaLogin(ctx, user.id, remember);
      ctx.metrics.logins.inc({ outcome: 'mfa_required' });
      noStore(reply);
      return reply.code(401).send({ error: 'mfa_required', error_description: 'A second factor is required: send the code with this mfa_token to POST /auth/login/mfa.', mfa_token: mfaToken });
    }
    return completeLogin(reply, user, meta, remember, PASSWORD_AMR);
  });

  app.post('/auth/login/mfa', {
    schema: { querystring: NoQuery, body: MfaLoginBody, response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
  }, async (request, reply) => {
    const meta = requestMeta(request);
    // The token is 256 random bits: guessing one is hopeless, so an unknown one is refused before
    // any limit is spent. A live one names the account whose login limits the code attempt counts
    // against (per account and per IP, the same counters as the password), so six digits cannot
    // be brute-forced with one mfa_token.
    const userId = await mfaLoginUser(ctx.db, request.body.mfa_token);
    const pending = userId === undefined ? undefined : await findUser(ctx.db, userId);
    if (!pending) throw AuthErrors.invalidMfaToken();
    await loginLimiter.check(pending.email, request);
    const done = await completeMfaLogin(ctx, request.body.mfa_token, request.body.code, meta);
    const user = await findUser(ctx.db, done.userId);
    // Disabled (or deleted) between the two steps: no session.
    if (!user || user.disabled) throw AuthErrors.invalidCredentials();
    assertMayLogIn(ctx.config, user);
    return completeLogin(reply, user, meta, done.remember, PASSWORD_OTP_AMR);
  });

  // The cookie calls take no body, but clients send one anyway: axios posts an empty form body,
  // fetch with `content-type: application/json` none at all. In this scope any content type is
  // accepted and the body (capped) ignored; the Origin check runs before it is read (onRequest).
  await app.register(async (cookieCalls) => {
    cookieCalls.removeAllContentTypeParsers();
    cookieCalls.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: IGNORED_BODY_LIMIT }, (_request, _body, done) => done(null, undefined));

    cookieCalls.post('/auth/refresh', {
      schema: { querystring: NoQuery, response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody } },
      onRequest: trustedOrigin,
    }, async (request, reply) => {
      const presented = request.cookies[REFRESH_COOKIE];
      if (presented === undefined) throw AuthErrors.noRefreshToken();
      const meta = requestMeta(request);
      // The access token is signed once the rotation's statement has committed,
      // with the scope stored at login (a refresh never widens it; null grants nothing).
      const sign = (session: RotatedSession, user: RotatedUser) =>
        issueAccessToken(ctx, { sub: user.id, role: user.role, clientId: session.client_id, sid: session.id, scope: session.scope ?? undefined, amr: session.amr });
      // Only keygate-web's sessions: an OAuth client's refresh token refreshes at /oauth/token with
      // that client's own authentication, and is refused here unspent.
      const result = await rotateRefreshToken(ctx, presented, meta, { clientId: FIRST_PARTY_CLIENT_ID }, sign);
      if (!result.ok) {
        request.log.info({ reason: result.reason, sessionId: result.sessionId }, 'refresh refused');
        clearRefreshCookie(reply);
        throw AuthErrors.invalidGrant();
      }
      return tokenAnswer(reply, result.issued, result.refreshToken, result.session.remember);
    });

    cookieCalls.post('/auth/logout', {
      schema: { querystring: NoQuery, response: { 204: Empty, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 413: ErrorBody } },
      onRequest: trustedOrigin,
    }, async (request, reply) => {
      const meta = requestMeta(request);
      const presented = request.cookies[REFRESH_COOKIE];
      let sessionId: string | undefined;
      let userId: string | undefined;
      if (presented !== undefined) {
        // Any token of the family (even a spent one) identifies the session to end; like
        // /auth/refresh, the cookie speaks for keygate-web's sessions only (an OAuth client's refresh
        // token is revoked at /oauth/revoke, with that client's authentication).
        const session = await sessionOfRefreshToken(ctx, presented);
        if (session?.client_id === FIRST_PARTY_CLIENT_ID) {
          sessionId = session.id;
          userId = session.user_id;
        }
      } else {
        const token = bearerToken(request);
        if (token === undefined) throw AuthErrors.missingToken('A refresh cookie or a Bearer access token is required.');
        const caller = await authenticateBearer(ctx, token);
        authorizeCaller(caller, { scope: ACCOUNT_SCOPE });
        sessionId = caller.sessionId;
        userId = caller.user.id;
      }
      if (sessionId !== undefined && (await endSession(ctx, { sessionId, userId }, 'logout', meta))) request.log.info({ sessionId }, 'logout');
      clearRefreshCookie(reply);
      return reply.code(204).send();
    });
  });

  app.post('/auth/logout-all', {
    schema: { querystring: NoQuery, response: { 204: Empty, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    preHandler: bearer,
  }, async (request, reply) => {
    const caller = callerOf(request);
    const ids = await endAllSessions(ctx, caller.user.id, caller.sessionId, requestMeta(request));
    request.log.info({ userId: caller.user.id, count: ids.length }, 'logout-all');
    clearRefreshCookie(reply);
    return reply.code(204).send();
  });

  app.get('/auth/sessions', {
    schema: { querystring: NoQuery, response: { 200: Type.Array(SessionView), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    preHandler: bearer,
  }, async (request) => {
    const caller = callerOf(request);
    const rows = await liveSessionsOf(ctx.db, caller.user.id);
    return rows.map((row) => ({
      id: row.id,
      created_at: row.created_at.toISOString(),
      last_used_at: row.last_used_at.toISOString(),
      ip: row.ip,
      user_agent: row.user_agent,
      current: row.id === caller.sessionId,
    }));
  });

  app.delete('/auth/sessions/:id', {
    schema: { querystring: NoQuery, params: IdParams, response: { 204: Empty, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    preHandler: bearer,
  }, async (request, reply) => {
    const caller = callerOf(request);
    const session = await sessionById(ctx.db, request.params.id);
    // Another user's session is indistinguishable from a missing one.
    if (!session || session.user_id !== caller.user.id || session.revoked_at !== null) throw AuthErrors.sessionNotFound();
    await endSession(ctx, { sessionId: session.id, userId: caller.user.id }, 'session_revoked', requestMeta(request));
    return reply.code(204).send();
  });
};
