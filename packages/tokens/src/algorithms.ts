/**
 * The algorithms the product allows (contract: RS256 default; PS256, ES256, EdDSA allowed), for
 * signing and verifying alike, and the smallest RSA key either accepts. The one list: auth's
 * SIGNING_ALG and the gateway's ALGORITHMS settings are both checked against it.
 */
import { TokensError } from './errors.js';

export const SIGNING_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export const DEFAULT_SIGNING_ALG: SigningAlg = 'RS256';

/** RSA keys are never smaller than this, to sign or to verify (issue 3: RSA 2048 or larger). */
export const MIN_RSA_MODULUS_BITS = 2048;

export function isSigningAlg(value: unknown): value is SigningAlg {
  return typeof value === 'string' && (SIGNING_ALGS as readonly string[]).includes(value);
}

export function assertSigningAlg(alg: string): asserts alg is SigningAlg {
  if (!isSigningAlg(alg)) {
    throw new TokensError('ERR_TOKENS_UNSUPPORTED_ALG', `Unsupported signing algorithm ${alg}; allowed: ${SIGNING_ALGS.join(', ')}.`);
  }
}
