/**
 * Coded errors and the one function that turns any error into the contract's wire format
 * `{"error": "<snake_case_code>", "error_description": "<text>"}`.
 *
 * Callers branch on `code`, never on messages. Anything that is not an AppError (a library
 * error, a bug) becomes a generic 500 so stack traces, SQL and library text never leak.
 */

/**
 * An error with a stable `code` to branch on (jose's habit): the base of AppError here and of the
 * packages below HTTP (the bus's BusError, the tokens package's TokensError and TokenError),
 * which give callers a code and leave the response to the service that catches it. `name` is
 * the subclass's own.
 */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

export interface AppErrorOptions {
  /** Extra response headers, e.g. WWW-Authenticate or Retry-After. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends CodedError {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, statusCode: number, description: string, options: AppErrorOptions = {}) {
    super(code, description, options);
    this.statusCode = statusCode;
    this.headers = options.headers ?? {};
  }
}

export type AppErrorFactory = (description?: string, options?: AppErrorOptions) => AppError;

/** Declares a coded error constructor once; every throw site then shares code and status. */
export function createError(code: string, statusCode: number, defaultDescription: string): AppErrorFactory {
  return (description, options) => new AppError(code, statusCode, description ?? defaultDescription, options);
}

/** The errors every service shares. Service-specific ones live in each service's errors.ts. */
export const CommonErrors = {
  invalidRequest: createError('invalid_request', 400, 'The request is malformed.'),
  unauthorized: createError('unauthorized', 401, 'Authentication is required.'),
  forbidden: createError('forbidden', 403, 'You are not allowed to do this.'),
  notFound: createError('not_found', 404, 'Not found.'),
  conflict: createError('conflict', 409, 'The request conflicts with the current state.'),
  payloadTooLarge: createError('payload_too_large', 413, 'The request body is too large.'),
  unsupportedMediaType: createError('unsupported_media_type', 415, 'Unsupported content type.'),
  rateLimited: createError('rate_limited', 429, 'Too many requests; retry later.'),
  internal: createError('internal_error', 500, 'Something went wrong on our side.'),
  badGateway: createError('bad_gateway', 502, 'The upstream service is unavailable.'),
  serviceUnavailable: (description?: string, options?: AppErrorOptions) =>
    new AppError('service_unavailable', 503, description ?? 'A dependency is unavailable; retry later.', {
      ...options,
      headers: { 'retry-after': '5', ...options?.headers },
    }),
  gatewayTimeout: createError('gateway_timeout', 504, 'The upstream service did not answer in time.'),
} as const;

export interface WireError {
  statusCode: number;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

interface FrameworkErrorShape {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
  message?: unknown;
}

const FRAMEWORK_CODES: Record<string, { status: number; code: string; description: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', description: 'Unsupported content type.' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type', description: 'Unsupported content type.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', description: 'The request body is too large.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_request', description: 'The JSON body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_request', description: 'The body is not valid JSON.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request', description: 'Content-Length does not match the body.' },
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: { status: 500, code: 'internal_error', description: 'Something went wrong on our side.' },
  FST_ERR_BAD_URL: { status: 400, code: 'invalid_request', description: 'The URL is malformed.' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 500, code: 'internal_error', description: 'Something went wrong on our side.' },
  FST_ERR_NOT_FOUND: { status: 404, code: 'not_found', description: 'Not found.' },
};

/**
 * The one place an error becomes a response. Validation errors keep their (schema-derived)
 * message because it names the offending field and nothing internal; every other non-AppError
 * is reduced to its status class.
 */
export function toWireError(error: unknown): WireError {
  if (error instanceof AppError) return wire(error.statusCode, error.code, error.message, { ...error.headers });
  if (isDependencyUnavailable(error)) {
    return wire(503, 'service_unavailable', 'A dependency is unavailable; retry later.', { 'retry-after': String(RETRY_AFTER_UNAVAILABLE_SECONDS) });
  }
  const shape = (typeof error === 'object' && error !== null ? error : {}) as FrameworkErrorShape;
  if (Array.isArray(shape.validation)) return wire(400, 'invalid_request', typeof shape.message === 'string' ? shape.message : 'The request is invalid.');
  const known = typeof shape.code === 'string' ? FRAMEWORK_CODES[shape.code] : undefined;
  if (known) return wire(known.status, known.code, known.description);
  if (error instanceof SyntaxError && shape.statusCode === 400) return wire(400, 'invalid_request', 'The body is not valid JSON.');
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : 500;
  if (status >= 400 && status < 500) {
    const fallback = STATUS_FALLBACK[status] ?? { code: 'invalid_request', description: 'The request is invalid.' };
    return wire(status, fallback.code, fallback.description);
  }
  return wire(500, 'internal_error', 'Something went wrong on our side.');
}

function wire(statusCode: number, code: string, description: string, headers: Record<string, string> = {}): WireError {
  return { statusCode, headers, body: { error: code, error_description: description } };
}

/** A framework's 4xx that is not an AppError: the common error of that status where there is one, with its text. */
const STATUS_FALLBACK: Record<number, { code: string; description: string }> = {
  400: { code: 'invalid_request', description: 'The request is invalid.' },
  405: { code: 'method_not_allowed', description: 'Method not allowed.' },
  406: { code: 'not_acceptable', description: 'Not acceptable.' },
  408: { code: 'request_timeout', description: 'The request took too long.' },
  414: { code: 'uri_too_long', description: 'The URL is too long.' },
  431: { code: 'headers_too_large', description: 'The request headers are too large.' },
  ...Object.fromEntries(
    [CommonErrors.unauthorized, CommonErrors.forbidden, CommonErrors.notFound, CommonErrors.conflict, CommonErrors.payloadTooLarge, CommonErrors.unsupportedMediaType, CommonErrors.rateLimited]
      .map((make) => make())
      .map((error) => [error.statusCode, { code: error.code, description: error.message }]),
  ),
};

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH',
  '57P01', '57P02', '57P03', // PostgreSQL admin/crash shutdown, cannot connect now
  '08000', '08001', '08003', '08004', '08006', // PostgreSQL connection exceptions
  // A write on a connection to a host that is now a standby (a switchover kept the old primary
  // running): the database is there but cannot take writes until the pool moves on.
  '25006',
  'ERR_BUS_UNAVAILABLE', // @keygate/bus: Redis down or too slow
]);

/** Drivers that report an outage only in the message text (pg's pool, ioredis, PGlite). */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Connection is closed',
  'Command timed out',
  'the database system is shutting down',
  "Stream isn't writeable",
];

/**
 * True for errors meaning "a dependency (PostgreSQL, Redis) is unreachable right now", which
 * the contract answers with 503 + Retry-After rather than 500.
 */
export function isDependencyUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (name === 'MaxRetriesPerRequestError') return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((text) => message.includes(text))) return true;
  // A wrapper (kysely, a domain error) has a message of its own: the outage may be its cause.
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isDependencyUnavailable(cause);
}

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_UNAVAILABLE_SECONDS = 5;
