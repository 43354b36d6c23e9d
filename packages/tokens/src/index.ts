/**
 * @keygate/tokens: the product's one token package (no database, no listener). Signing keys and
 * their sealing under KEY_ENCRYPTION_KEY, access-token signing (jose), the public JWKS document,
 * and access-token verification for the gateway and the auth service alike: one verifier with one
 * set of rules, fed by a key source (the JWKS client here, or the issuer's own key store).
 */
export { SIGNING_ALGS, DEFAULT_SIGNING_ALG, MIN_RSA_MODULUS_BITS, isSigningAlg, assertSigningAlg, type SigningAlg } from './algorithms.js';
export { TokensError, TokenError, type TokensErrorCode, type TokenErrorCode } from './errors.js';
export { generateSigningKey, type GeneratedSigningKey, type GenerateOptions } from './generate-signing-key.js';
export { encryptPrivateKey } from './encrypt-private-key.js';
export { decryptPrivateKey, type SigningKey } from './decrypt-private-key.js';
export { sealSecret } from './seal.js';
export { openSecret } from './open.js';
export { deriveKey } from './derive-key.js';
export { signAccessToken, type NewAccessToken, type SignOptions, type SignedAccessToken } from './sign-access-token.js';
export { buildJwks, type JwksDocument, type PublishedKey } from './build-jwks.js';
export { publicJwkOf } from './public-jwk.js';
export { importVerificationKey, type VerificationKey } from './verification-key.js';
export type { KeySource } from './key-source.js';
export { createJwksClient, type JwksClient, type JwksClientOptions, type JwksEvent } from './jwks-client.js';
export { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from './verifier.js';
export { CLOCK_SKEW_SECONDS, type AccessTokenClaims } from './claims.js';
export { parseBearer } from './parse-bearer.js';
export { ACCOUNT_SCOPE, ADMIN_SCOPE, FIRST_PARTY_SCOPES, RESOURCE_SCOPES, OIDC_SCOPES, KNOWN_SCOPES, SCOPE_DESCRIPTIONS, firstPartySessionScope, scopeSet, hasScopes } from './scopes.js';
export { signIdToken, accessTokenHash, type NewIdToken, type IdTokenSignOptions } from './sign-id-token.js';
export { verifyIdTokenHint, type IdTokenHintClaims } from './verify-id-token-hint.js';
