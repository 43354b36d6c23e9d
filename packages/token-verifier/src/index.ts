/**
 * @keygate/token-verifier: the one function that decides whether an access token is good.
 * JWKS fetching and caching, canonical-form and header rules, pinned algorithms, claims, and a
 * verified-token fast path that still checks time and key presence on every call.
 */
export { createTokenVerifier, type AccessTokenClaims, type TokenMemo, type TokenVerifier, type TokenVerifierOptions } from './verifier.js';
export { TokenError, type TokenErrorCode } from './errors.js';
export { SUPPORTED_ALGORITHMS, type Algorithm } from './algorithms.js';
export type { JwksEvent } from './jwks.js';
