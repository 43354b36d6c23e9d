/**
 * Signature checks with node:crypto, one per algorithm the product allows. The algorithm always
 * comes from the JWKS entry of the kid (pinned when the key is imported), never from the token;
 * the token's `alg` must merely equal it. Key type and size are checked once, at import.
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

export const SUPPORTED_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export const MIN_RSA_MODULUS_BITS = 2048;

export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && (SUPPORTED_ALGORITHMS as readonly string[]).includes(value);
}

/** Builds the public key of a JWK for alg, or returns a reason it cannot be used for it. */
export function importVerificationKey(jwk: Record<string, unknown>, alg: Algorithm): KeyObject | string {
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

export function verifySignature(alg: Algorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
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
