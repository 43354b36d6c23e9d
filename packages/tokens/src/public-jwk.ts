/**
 * Reduces a JWK to its public members by allow-list (never by deleting private ones), so a new
 * private member in some future key type can never leak into the JWKS.
 */
import type { JWK } from 'jose';
import { TokensError } from './errors.js';

const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

export function publicJwkOf(jwk: JWK): JWK {
  const members = jwk.kty === undefined ? undefined : PUBLIC_MEMBERS[jwk.kty];
  if (!members) throw new TokensError('ERR_TOKENS_INVALID_KEY', `Unsupported key type ${String(jwk.kty)}.`);
  const out: Record<string, unknown> = {};
  for (const member of members) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value !== 'string') throw new TokensError('ERR_TOKENS_INVALID_KEY', `The key lacks its "${member}" member.`);
    out[member] = value;
  }
  return out as JWK;
}
