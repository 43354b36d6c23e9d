/**
 * The service kit's own coded errors: what a request gets when Node's HTTP parser refuses it
 * before fastify ever sees it (a malformed request line or header, headers over the size limit,
 * a request that took too long to arrive), answered in the contract's shape like every other error;
 * and what the operations listener refuses.
 */
import { AppError, createError } from '@keygate/errors';

export const ServiceKitErrors = {
  malformedRequest: createError('invalid_request', 400, 'The HTTP request is malformed.'),
  headersTooLarge: createError('headers_too_large', 431, 'The request headers are too large.'),
  chunkExtensionsTooLarge: createError('payload_too_large', 413, 'The chunk extensions of the request body are too large.'),
  requestTimeout: createError('request_timeout', 408, 'The request took too long to arrive.'),
  /** The operations listener serves GET (and HEAD) /metrics only. */
  metricsMethodNotAllowed: (method: string) =>
    new AppError('method_not_allowed', 405, `The operations listener answers GET /metrics only, not ${method}.`, { headers: { allow: 'GET, HEAD' } }),
} as const;
