/** The auth service's coded errors, declared once; every throw site shares code and status. */
import { AppError, createError, type AppErrorOptions } from '@keygate/errors';

const BEARER_INVALID = { 'www-authenticate': 'Bearer error="invalid_token"' };

export const AuthErrors = {
  emailTaken: createError('email_taken', 409, 'An account with this email already exists.'),
  invalidCredentials: createError('invalid_credentials', 401, 'The email or password is wrong.'),
  wrongCurrentPassword: createError('invalid_credentials', 403, 'The current password is wrong.'),
  invalidGrant: createError('invalid_grant', 401, 'The refresh token is invalid, expired or revoked.'),
  missingToken: (description = 'A Bearer access token is required.', options?: AppErrorOptions) =>
    new AppError('unauthorized', 401, description, { ...options, headers: { 'www-authenticate': 'Bearer', ...options?.headers } }),
  invalidToken: (description = 'The access token is invalid, expired or revoked.') => new AppError('invalid_token', 401, description, { headers: BEARER_INVALID }),
  /** RFC 6750 §3.1: the scope the route needs, in the challenge, so a client knows what to ask for. */
  insufficientScope: (scope: string, description = `This needs a token with the scope "${scope}".`) =>
    new AppError('insufficient_scope', 403, description, { headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"` } }),
  forbiddenOrigin: createError('invalid_origin', 403, 'Requests from this origin are not allowed.'),
  sessionNotFound: createError('not_found', 404, 'No such session.'),
  userNotFound: createError('not_found', 404, 'No such user.'),
  selfLockout: createError('conflict', 409, 'You cannot remove your own admin access or disable yourself.'),
  rateLimited: (retryAfterSeconds: number) =>
    new AppError('rate_limited', 429, 'Too many login attempts; retry later.', { headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) } }),
  noSigningKey: () => new AppError('service_unavailable', 503, 'No signing key is available yet; retry later.', { headers: { 'retry-after': '5' } }),
} as const;
