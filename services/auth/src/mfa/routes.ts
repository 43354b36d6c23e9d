/** POST /auth/mfa/totp, POST /auth/mfa/totp/confirm, DELETE /auth/mfa: the caller's own second factor (scope `account`). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ACCOUNT_SCOPE } from '@keygate/tokens';
import { callerOf, requestMeta, requireBearer } from '../http/authenticate.js';
import { ErrorBody, NoQuery } from '../schemas/auth.js';
import { ConfirmTotpBody, PasswordBody, RecoveryCodes, TotpEnrolment } from '../schemas/mfa.js';
import type { RouteOptions } from '../http/route-options.js';
import { confirmTotpEnrolment, removeMfa, startTotpEnrolment } from './service.js';

export const mfaRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx, loginLimiter }) => {
  // A third-party client's token (no `account` scope) gets 403: it must not add or remove the
  // factor that protects the account it was lent.
  const bearer = requireBearer(ctx, { scope: ACCOUNT_SCOPE });

  app.post('/auth/mfa/totp', {
    schema: { querystring: NoQuery, response: { 200: TotpEnrolment, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody } },
    preHandler: bearer,
  }, async (request) => {
    const { user } = callerOf(request);
    const enrolment = await startTotpEnrolment(ctx, user);
    request.log.info({ userId: user.id }, 'totp enrolment started');
    return enrolment;
  });

  app.post('/auth/mfa/totp/confirm', {
    schema: { querystring: NoQuery, body: ConfirmTotpBody, response: { 200: RecoveryCodes, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 415: ErrorBody, 429: ErrorBody } },
    preHandler: bearer,
  }, async (request) => {
    const { user } = callerOf(request);
    // A code attempt on the caller's own account: the same limits as a password attempt.
    await loginLimiter.check(user.email, request);
    const codes = await confirmTotpEnrolment(ctx, user.id, request.body.code, requestMeta(request));
    request.log.info({ userId: user.id }, 'totp enrolled');
    return { recovery_codes: codes };
  });

  app.delete('/auth/mfa', {
    schema: { querystring: NoQuery, body: PasswordBody, response: { 204: { type: 'null' }, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
    preHandler: bearer,
  }, async (request, reply) => {
    const { user } = callerOf(request);
    // The password is a password attempt: a stolen access token must not make this an oracle.
    await loginLimiter.check(user.email, request);
    await removeMfa(ctx, user, request.body.password, requestMeta(request));
    request.log.info({ userId: user.id }, 'second factor removed');
    return reply.code(204).send();
  });
};
