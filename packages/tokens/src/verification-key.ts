/**
 * Verification keys as node:crypto KeyObjects, and the signature check, one per algorithm the
 * product allows. The algorithm always comes from the key source's entry for the kid (pinned when
 * the key is imported), never from the token; the token's `alg` must merely equal it. Key type
 * and size are checked once, at import. node:crypto rather than jose on this path: the gateway
 * verifies on every request, and a synchronous verify saves a promise per token.
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { MIN_RSA_MODULUS_BITS, assertSigningAlg, type SigningAlg } from './algorithms.js';
import { TokensError } from './errors.js';

/** A public key pinned to the one algorithm it verifies. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly key: KeyObject;
}

/** The public key of a JWK for alg, or the reason it cannot be used for it. */
export function publicKeyFor(jwk: Record<string, unknown>, alg: SigningAlg): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as never, format: 'jwk' });
  } catch {
    return 'not a valid JWK';
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (alg) {
    case 'RS256':
    case 'PS256':
      if (type !== 'rsa') return `kty does not fit ${alg}`;
      if ((details.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) return `RSA modulus shorter than ${MIN_RSA_MODULUS_BITS} bits`;
      return key;
    case 'ES256':
      if (type !== 'ec' || details.namedCurve !== 'prime256v1') return 'ES256 needs a P-256 key';
      return key;
    case 'EdDSA':
      if (type !== 'ed25519' && type !== 'ed448') return 'EdDSA needs an Ed25519 or Ed448 key';
      return key;
  }
}

/** Imports a published (public) JWK as the verification key of its kid, pinned to alg. */
export function importVerificationKey(kid: string, jwk: object, alg: string): VerificationKey {
  assertSigningAlg(alg);
  const key = publicKeyFor(jwk as Record<string, unknown>, alg);
  if (typeof key === 'string') throw new TokensError('ERR_TOKENS_INVALID_KEY', `Key ${kid} cannot verify ${alg}: ${key}.`);
  return { kid, alg, key };
}

export function verifySignature(alg: SigningAlg, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  switch (alg) {
    case 'RS256':
      return verify('sha256', data, key, signature);
    case 'PS256':
      return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    case 'ES256':
      return signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'EdDSA':
      return verify(null, data, key, signature);
  }
}
