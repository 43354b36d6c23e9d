/**
 * Generates a new signing key pair. The kid is the key's RFC 7638 thumbprint, so it is stable,
 * unique per key and reveals nothing.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { assertSigningAlg, DEFAULT_SIGNING_ALG, MIN_RSA_MODULUS_BITS, type SigningAlg } from './algorithms.js';
import { TokensError } from './errors.js';
import { publicJwkOf } from './public-jwk.js';

export interface GeneratedSigningKey {
  kid: string;
  alg: SigningAlg;
  /** Public members only (kty, n, e / crv, x, y). */
  publicJwk: JWK;
  /** The full private JWK: encrypt it (encryptPrivateKey) before it is stored anywhere. */
  privateJwk: JWK;
}

export interface GenerateOptions {
  /** RSA modulus length for RS256/PS256; at least 2048 (the default). */
  modulusLength?: number;
}

export async function generateSigningKey(alg: string = DEFAULT_SIGNING_ALG, options: GenerateOptions = {}): Promise<GeneratedSigningKey> {
  assertSigningAlg(alg);
  const modulusLength = options.modulusLength ?? MIN_RSA_MODULUS_BITS;
  if (modulusLength < MIN_RSA_MODULUS_BITS) {
    throw new TokensError('ERR_TOKENS_INVALID_KEY', `RSA keys must be at least ${MIN_RSA_MODULUS_BITS} bits.`);
  }
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' || alg === 'PS256' ? { modulusLength } : {}), ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const privateJwk = await exportJWK(pair.privateKey);
  const publicJwk = publicJwkOf(await exportJWK(pair.publicKey));
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { kid, alg, publicJwk, privateJwk };
}
