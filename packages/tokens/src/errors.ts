/**
 * The tokens package's coded errors, two kinds. It sits below HTTP, so it only gives callers a
 * stable `code` to branch on (as jose does); the service that catches one decides what the client
 * sees.
 *
 * - TokensError: the caller handed the package something unusable (an algorithm outside the
 *   allowed set, a weak or malformed key, a sealed value that does not open). A programming or
 *   configuration problem, or tampered storage.
 * - TokenError: an access token was refused. The gateway turns every code into a 401
 *   `invalid_token` (a 503 for `jwks_unavailable`) and uses it as a metric label; auth answers
 *   401 `invalid_token` for all of them. Messages are safe to show a client: they name the failed
 *   check, never the token or key material.
 *
 * Both extend @keygate/errors' CodedError (the base AppError and the bus's errors share).
 */
import { CodedError } from '@keygate/errors';

export type TokensErrorCode =
  /** A sealed value could not be opened: wrong key, wrong associated data, or tampered bytes. */
  | 'ERR_TOKENS_DECRYPT_FAILED'
  /** An algorithm outside the allowed set was asked for. */
  | 'ERR_TOKENS_UNSUPPORTED_ALG'
  /** A key of the wrong size or shape was passed. */
  | 'ERR_TOKENS_INVALID_KEY';

export class TokensError extends CodedError<TokensErrorCode> {}

export type TokenErrorCode =
  /** Longer than the configured cap. */
  | 'token_too_large'
  /** Not the canonical compact form: three base64url segments, no padding or whitespace. */
  | 'token_malformed'
  /** Header is not a JSON object, or lacks alg/kid. */
  | 'header_invalid'
  /** jku, x5u, jwk, x5c, x5t, crit, b64 or zip: members that could make a verifier trust another key. */
  | 'header_forbidden'
  /** kid contains characters a key id never has (path separators, dot-dot, whitespace). */
  | 'kid_invalid'
  /** No key with that kid in the key source, even after a reload. */
  | 'kid_unknown'
  /** The kid was revoked (a compromised key): refused whatever the key source's JWKS still lists. */
  | 'key_revoked'
  /** alg in the header is not the alg the key source pins for that kid (or not an accepted one). */
  | 'alg_mismatch'
  /** typ is not at+jwt. */
  | 'typ_invalid'
  | 'signature_invalid'
  /** Payload is not a JSON object, or a required claim is missing or has the wrong type. */
  | 'claims_invalid'
  | 'issuer_invalid'
  | 'audience_invalid'
  | 'expired'
  /** nbf or iat later than now plus the allowed skew. */
  | 'not_yet_valid'
  /** The keys have never been loaded, so nothing can be verified (a dependency problem, not the token's). */
  | 'jwks_unavailable';

export class TokenError extends CodedError<TokenErrorCode> {}

export function tokenError(code: TokenErrorCode, message: string): TokenError {
  return new TokenError(code, message);
}
