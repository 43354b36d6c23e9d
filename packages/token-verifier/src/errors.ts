/**
 * Why a token was refused, as a stable code. Callers branch on `code` (the gateway turns every
 * code into a 401 `invalid_token`, or a 503 for `jwks_unavailable`, and uses it as a metric
 * label), never on the message. Messages are safe to show a client: they name the failed check,
 * never the token or key material.
 */

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
  /** No key with that kid in the JWKS, even after a refetch. */
  | 'kid_unknown'
  /** alg in the header is not the alg the JWKS pins for that kid. */
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
  /** The JWKS has never been loaded, so nothing can be verified (a dependency problem, not the token's). */
  | 'jwks_unavailable';

export class TokenError extends Error {
  readonly code: TokenErrorCode;

  constructor(code: TokenErrorCode, message: string) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
  }
}

export function tokenError(code: TokenErrorCode, message: string): TokenError {
  return new TokenError(code, message);
}
