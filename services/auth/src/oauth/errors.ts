/**
 * RFC 6749 §5.2 (and RFC 7009/7662) errors of the /oauth/* endpoints, declared once. The body is
 * the contract's `{error, error_description}`, which is exactly RFC 6749's error response.
 */
import { AppError, createError } from '@keygate/errors';

export const OAuthErrors = {
  invalidRequest: createError('invalid_request', 400, 'The request is missing a parameter or is otherwise malformed.'),
  /**
   * 401 always; RFC 6749 §5.2 requires the Basic challenge when the client tried the Authorization
   * header and allows it otherwise, so it is always sent.
   */
  invalidClient: (description = 'Client authentication failed.') =>
    new AppError('invalid_client', 401, description, { headers: { 'www-authenticate': 'Basic realm="keygate", charset="UTF-8"' } }),
  invalidGrant: createError('invalid_grant', 400, 'The grant is invalid, expired, revoked or was issued to another client.'),
  unauthorizedClient: createError('unauthorized_client', 400, 'This client may not use this grant type.'),
  unsupportedGrantType: createError('unsupported_grant_type', 400, 'This grant type is not supported.'),
  invalidScope: createError('invalid_scope', 400, 'The requested scope is invalid or exceeds what was granted.'),
} as const;
