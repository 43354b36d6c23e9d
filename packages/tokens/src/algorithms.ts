/** The signing algorithms the product allows (contract: RS256 default; PS256, ES256, EdDSA allowed). */
import { TokensError } from './errors.js';

export const SIGNING_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export const DEFAULT_SIGNING_ALG: SigningAlg = 'RS256';

/** RSA keys are never smaller than this (issue 3: RSA 2048 or larger). */
export const MIN_RSA_MODULUS_BITS = 2048;

export function assertSigningAlg(alg: string): asserts alg is SigningAlg {
  if (!(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw new TokensError('ERR_TOKENS_UNSUPPORTED_ALG', `Unsupported signing algorithm ${alg}; allowed: ${SIGNING_ALGS.join(', ')}.`);
  }
}
