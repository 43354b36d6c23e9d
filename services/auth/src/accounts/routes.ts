/** POST /auth/register; GET /auth/me; POST /auth/password; DELETE /auth/me. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ACCOUNT_SCOPE } from '@keygate/tokens';
import { changePassword, deleteAccount, registerUser } from './service.js';
import { clearRefreshCookie } from '../sessions/cookie.js';
import { PasswordBody } from '../schemas/mfa.js';
import { callerOf, requestMeta, requireBearer } from '../http/authenticate.js';
import { Credentials, ErrorBody, Me, NoQuery, PasswordChangeBody, PublicUser } from '../schemas/auth.js';
import type { RouteOptions } from '../http/route-options.js';

export const accountRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx, loginLimiter, registerLimiter }) => {
  const bearer = requireBearer(ctx, { scope: ACCOUNT_SCOPE });

  app.post('/auth/register', {
    schema: { querystring: NoQuery, body: Credentials, response: { 201: PublicUser, 400: ErrorBody, 409: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
    // Keyed on the client address alone, so it runs before the body is parsed and validated:
    // a flood of registrations is refused at the lowest cost per request.
    onRequest: async (request) => registerLimiter.check(request),
  }, async (request, reply) => {
    const user = await registerUser(ctx, request.body.email, request.body.password, requestMeta(request));
    request.log.info({ userId: user.id }, 'user registered');
    return reply.code(201).send({ id: user.id, email: user.email, role: user.role });
  });

  app.get('/auth/me', {
    schema: { querystring: NoQuery, response: { 200: Me, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    preHandler: bearer,
  }, async (request) => {
    const { user } = callerOf(request);
    return { id: user.id, email: user.email, role: user.role, created_at: user.created_at.toISOString(), email_verified: user.email_verified_at !== null };
  });

  app.post('/auth/password', {
    schema: { querystring: NoQuery, body: PasswordChangeBody, response: { 204: { type: 'null' }, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
    preHandler: bearer,
  }, async (request, reply) => {
    const caller = callerOf(request);
    // The current password is a password attempt on the caller's own account: a stolen access
    // token must not make this route an oracle that bypasses the login limits.
    await loginLimiter.check(caller.user.email, request);
    await changePassword(ctx, caller.user.id, caller.sessionId, request.body.current_password, request.body.new_password, requestMeta(request));
    request.log.info({ userId: caller.user.id }, 'password changed');
    return reply.code(204).send();
  });

  app.delete('/auth/me', {
    schema: { querystring: NoQuery, body: PasswordBody, response: { 204: { type: 'null' }, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
    preHandler: bearer,
  }, async (request, reply) => {
    const caller = callerOf(request);
    // A password attempt like POST /auth/password's: counted against the login limits.
    await loginLimiter.check(caller.user.email, request);
    await deleteAccount(ctx, caller.user.id, { password: request.body.password }, requestMeta(request));
    request.log.info({ userId: caller.user.id }, 'account deleted');
    clearRefreshCookie(reply);
    return reply.code(204).send();
  });
};
