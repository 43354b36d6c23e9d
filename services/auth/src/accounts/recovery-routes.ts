/**
 * POST /auth/verify-email, /auth/verify-email/resend, /auth/password-reset,
 * /auth/password-reset/confirm (docs/contract.md, "Accounts").
 *
 * Who may call: anyone holding a mailed token (verify, confirm) or knowing an email (reset); the
 * resend needs a Bearer token with scope `account` (the caller's own account). What one caller may
 * spend: per-address and per-account limits on each (sessions/login-limiter.ts), at most
 * RESET_REQUESTS_MAX reset requests in progress per instance, argon2id only for a live token and
 * through the bounded hash queue. What a browser sends: JSON bodies only (text/plain is 415), so a
 * cross-site form cannot post here, and no cookie is read: there is no ambient authority for a
 * forged request to borrow, hence no Origin check (docs/decisions-auth.md).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ACCOUNT_SCOPE } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import { AuthErrors } from '../errors.js';
import { callerOf, requestMeta, requireBearer } from '../http/authenticate.js';
import { ErrorBody, NoQuery, PasswordResetBody, PasswordResetConfirmBody, VerifyEmailBody } from '../schemas/auth.js';
import type { PairLimiter } from '../sessions/login-limiter.js';
import { confirmEmailVerification, resendVerification } from './email-verification.js';
import { confirmPasswordReset, ResetRequests } from './password-reset.js';

/** Reset requests worked on after their 202, per instance; far above what the per-address limits let one client queue. */
const RESET_REQUESTS_MAX = 1_000;
const Empty = { type: 'null' } as const;

export interface RecoveryRouteOptions {
  ctx: AuthContext;
  passwordResetLimiter: PairLimiter;
  verifyEmailLimiter: PairLimiter;
}

export const recoveryRoutes: FastifyPluginAsyncTypebox<RecoveryRouteOptions> = async (app, { ctx, passwordResetLimiter, verifyEmailLimiter }) => {
  const bearer = requireBearer(ctx, { scope: ACCOUNT_SCOPE });
  const resets = new ResetRequests(ctx, RESET_REQUESTS_MAX);
  // Requests answered 202 are finished before the database closes.
  app.addHook('onClose', () => resets.drain());

  app.post('/auth/verify-email', {
    schema: { querystring: NoQuery, body: VerifyEmailBody, response: { 204: Empty, 400: ErrorBody, 415: ErrorBody, 429: ErrorBody } },
    onRequest: async (request) => verifyEmailLimiter.checkIp(request),
  }, async (request, reply) => {
    const userId = await confirmEmailVerification(ctx, request.body.token, requestMeta(request));
    request.log.info({ userId }, 'email verified');
    return reply.code(204).send();
  });

  app.post('/auth/verify-email/resend', {
    schema: { querystring: NoQuery, response: { 202: Empty, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 429: ErrorBody } },
    onRequest: async (request) => verifyEmailLimiter.checkIp(request),
    preHandler: bearer,
  }, async (request, reply) => {
    const { user } = callerOf(request);
    await verifyEmailLimiter.checkAccount(user.id, request);
    await resendVerification(ctx, user.id, requestMeta(request));
    request.log.info({ userId: user.id }, 'verification mail queued');
    return reply.code(202).send();
  });

  app.post('/auth/password-reset', {
    schema: { querystring: NoQuery, body: PasswordResetBody, response: { 202: Empty, 400: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
    onRequest: async (request) => passwordResetLimiter.checkIp(request),
  }, async (request, reply) => {
    // Counted on the email as asked, existing or not: a 429 says nothing about the account.
    await passwordResetLimiter.checkAccount(request.body.email, request);
    // The answer goes before the lookup: the same work, and so the same time, for every email.
    if (!resets.submit(request.body.email, requestMeta(request))) throw AuthErrors.hashQueueFull();
    return reply.code(202).send();
  });

  app.post('/auth/password-reset/confirm', {
    schema: { querystring: NoQuery, body: PasswordResetConfirmBody, response: { 204: Empty, 400: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
    onRequest: async (request) => passwordResetLimiter.checkIp(request),
  }, async (request, reply) => {
    const userId = await confirmPasswordReset(ctx, request.body.token, request.body.new_password, requestMeta(request), (id) => passwordResetLimiter.checkAccount(id, request));
    request.log.info({ userId }, 'password reset');
    return reply.code(204).send();
  });
};
