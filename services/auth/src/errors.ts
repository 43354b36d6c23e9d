/** The auth service's coded errors, declared once; every throw site shares code and status. */
import { AppError, createError, type AppErrorOptions } from '@keygate/errors';

const BEARER_INVALID = { 'www-authenticate': 'Bearer error="invalid_token"' };

function tooMany(description: string, retryAfterSeconds: number): AppError {
  return new AppError('rate_limited', 429, description, { headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) } });
}

export const AuthErrors = {
  emailTaken: createError('email_taken', 409, 'An account with this email already exists.'),
  invalidCredentials: createError('invalid_credentials', 401, 'The email or password is wrong.'),
  wrongCurrentPassword: createError('invalid_credentials', 403, 'The current password is wrong.'),
  passwordReused: createError('password_reused', 400, 'The new password must differ from the current one.'),
  invalidGrant: createError('invalid_grant', 401, 'The refresh token is invalid, expired or revoked.'),
  /** A refresh without the cookie: usually a client that did not send credentials, or a cookie that ended with the browser session. */
  noRefreshToken: createError('invalid_grant', 401, 'No refresh token was sent: the refresh_token cookie is missing.'),
  missingToken: (description = 'A Bearer access token is required.', options?: AppErrorOptions) =>
    new AppError('unauthorized', 401, description, { ...options, headers: { 'www-authenticate': 'Bearer', ...options?.headers } }),
  invalidToken: (description = 'The access token is invalid, expired or revoked.') => new AppError('invalid_token', 401, description, { headers: BEARER_INVALID }),
  /** RFC 6750 §3.1: the scope the route needs, in the challenge, so a client knows what to ask for. */
  insufficientScope: (scope: string, description = `This needs a token with the scope "${scope}".`) =>
    new AppError('insufficient_scope', 403, description, { headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"` } }),
  forbiddenOrigin: createError('invalid_origin', 403, 'Requests from this origin are not allowed.'),
  sessionNotFound: createError('not_found', 404, 'No such session.'),
  userNotFound: createError('not_found', 404, 'No such user.'),
  consentNotFound: createError('not_found', 404, 'No consent for this client.'),
  selfLockout: createError('conflict', 409, 'You cannot remove your own admin access or disable yourself.'),
  rateLimited: (retryAfterSeconds: number) => tooMany('Too many login attempts; retry later.', retryAfterSeconds),
  registrationRateLimited: (retryAfterSeconds: number) => tooMany('Too many registrations from this address; retry later.', retryAfterSeconds),
  tooManyRequests: (description: string, retryAfterSeconds: number) => tooMany(description, retryAfterSeconds),
  /** A mailed token (verification, reset) that is unknown, expired or spent: one answer for all three. */
  invalidAccountToken: createError('invalid_token', 400, 'The link is invalid, has expired or was already used.'),
  emailNotVerified: createError('email_not_verified', 403, 'Confirm your email address first: follow the link in the mail we sent.'),
  alreadyVerified: createError('already_verified', 409, 'This email address is already confirmed.'),

  /** The password-hash queue is full (PASSWORD_HASH_QUEUE_MAX): shed the request rather than let it wait without bound. */
  hashQueueFull: () => new AppError('service_unavailable', 503, 'The service is busy; retry shortly.', { headers: { 'retry-after': '1' } }),
  noSigningKey: () => new AppError('service_unavailable', 503, 'No signing key is available yet; retry later.', { headers: { 'retry-after': '5' } }),
  // TOTP second factor and account deletion (contract, "Accounts").
  invalidCode: createError('invalid_code', 401, 'The code is wrong, expired or already used.'),
  invalidMfaToken: createError('invalid_token', 400, 'The mfa_token is invalid, expired or already used; sign in again.'),
  mfaAlreadyEnabled: createError('mfa_already_enabled', 409, 'A second factor is already set up; remove it first.'),
  mfaNotPending: createError('mfa_not_pending', 409, 'No second-factor enrolment is pending; start one with POST /auth/mfa/totp.'),
  mfaNotEnabled: createError('not_found', 404, 'No second factor is set up.'),
} as const;
