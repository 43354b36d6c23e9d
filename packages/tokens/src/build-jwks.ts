/**
 * The public JWKS document: each key reduced to its public members (allow-list) plus kid, alg and
 * use:"sig", so a verifier can pin the algorithm per kid from the JWKS, never from a token header.
 */
import type { JWK } from 'jose';
import { assertSigningAlg } from './algorithms.js';
import { publicJwkOf } from './public-jwk.js';

export interface PublishedKey {
  kid: string;
  alg: string;
  publicJwk: JWK;
}

export interface JwksDocument {
  keys: JWK[];
}

export function buildJwks(keys: readonly PublishedKey[]): JwksDocument {
  return {
    keys: keys.map((key) => {
      assertSigningAlg(key.alg);
      return { ...publicJwkOf(key.publicJwk), kid: key.kid, alg: key.alg, use: 'sig' };
    }),
  };
}
