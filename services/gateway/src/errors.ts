/**
 * The gateway's coded errors. 401s carry an RFC 6750 challenge: bare when no token was sent,
 * with error="invalid_token" when one was; 403 says error="insufficient_scope", and when a scope
 * is missing names the scopes the request needs (RFC 6750 §3's `scope` attribute).
 */
import { AppError, CommonErrors, createError } from '@keygate/errors';
import { IDEMPOTENCY_KEY_RULE } from '@keygate/service-kit';

const REALM = 'Bearer realm="keygate"';

/** Quoted-string safe: our descriptions are fixed ASCII texts, but never let a quote through. */
function quoted(text: string): string {
  return text.replace(/["\\]/g, '');
}

export const GatewayErrors = {
  invalidRequest: CommonErrors.invalidRequest,
  notFound: CommonErrors.notFound,
  payloadTooLarge: CommonErrors.payloadTooLarge,
  rateLimited: CommonErrors.rateLimited,
  badGateway: CommonErrors.badGateway,
  gatewayTimeout: CommonErrors.gatewayTimeout,
  serviceUnavailable: CommonErrors.serviceUnavailable,
  internal: CommonErrors.internal,
  tokenRequired: (description = 'An access token is required.') =>
    new AppError('unauthorized', 401, description, { headers: { 'www-authenticate': REALM } }),
  invalidToken: (description = 'The access token is invalid.') =>
    new AppError('invalid_token', 401, description, {
      headers: { 'www-authenticate': `${REALM}, error="invalid_token", error_description="${quoted(description)}"` },
    }),
  insufficientScope: (description = 'Your role is not allowed on this route.') =>
    new AppError('insufficient_scope', 403, description, {
      headers: { 'www-authenticate': `${REALM}, error="insufficient_scope", error_description="${quoted(description)}"` },
    }),
  missingScope: (needed: readonly string[]) =>
    new AppError('insufficient_scope', 403, `The access token lacks the scope this request needs: ${needed.join(' ')}.`, {
      headers: {
        'www-authenticate': `${REALM}, error="insufficient_scope", error_description="The access token lacks a scope this request needs.", scope="${quoted(needed.join(' '))}"`,
      },
    }),
  tokenInQuery: createError('invalid_request', 400, 'Send the access token in the Authorization header, never in the query string.'),
  duplicateAuthorization: createError('invalid_request', 400, 'Send exactly one Authorization header.'),
  invalidIdempotencyKey: createError('invalid_request', 400, IDEMPOTENCY_KEY_RULE),
} as const;
