/**
 * The tokens package's coded errors. It sits below HTTP, so it only gives callers a stable `code`
 * to branch on (as jose does); the service that catches one decides what the client sees.
 */

export type TokensErrorCode =
  /** A sealed value could not be opened: wrong key, wrong associated data, or tampered bytes. */
  | 'ERR_TOKENS_DECRYPT_FAILED'
  /** An algorithm outside the allowed set was asked for. */
  | 'ERR_TOKENS_UNSUPPORTED_ALG'
  /** A key of the wrong size or shape was passed. */
  | 'ERR_TOKENS_INVALID_KEY'
  /** An access token failed verification (signature, header, claims, time). */
  | 'ERR_TOKENS_INVALID_TOKEN';

export class TokensError extends Error {
  readonly code: TokensErrorCode;

  constructor(code: TokensErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokensError';
    this.code = code;
  }
}
