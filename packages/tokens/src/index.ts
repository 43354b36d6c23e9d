/**
 * @keygate/tokens: jose only (no HTTP, no database). Signing-key generation, private-key sealing
 * under KEY_ENCRYPTION_KEY, access-token signing and verification, and the public JWKS document.
 */
export { SIGNING_ALGS, DEFAULT_SIGNING_ALG, MIN_RSA_MODULUS_BITS, assertSigningAlg, type SigningAlg } from './algorithms.js';
export { TokensError, type TokensErrorCode } from './errors.js';
export { generateSigningKey, type GeneratedSigningKey, type GenerateOptions } from './generate-signing-key.js';
export { encryptPrivateKey } from './encrypt-private-key.js';
export { decryptPrivateKey, type SigningKey } from './decrypt-private-key.js';
export { sealSecret } from './seal.js';
export { openSecret } from './open.js';
export { deriveKey } from './derive-key.js';
export { signAccessToken, type AccessTokenClaims, type SignOptions, type SignedAccessToken } from './sign-access-token.js';
export { verifyAccessToken, importVerificationKey, CLOCK_SKEW_SECONDS, type AccessTokenPayload, type VerificationKey, type VerifyOptions } from './verify-access-token.js';
export { buildJwks, type JwksDocument, type PublishedKey } from './build-jwks.js';
export { publicJwkOf } from './public-jwk.js';
export { ACCOUNT_SCOPE, ADMIN_SCOPE, FIRST_PARTY_SCOPES, RESOURCE_SCOPES, OIDC_SCOPES, KNOWN_SCOPES, firstPartySessionScope, scopeSet, hasScopes } from './scopes.js';
