/**
 * The benchmark's own issuer for the proxy scenarios: one RS256 key (generated per run by the
 * product's tokens package), its JWKS (served by the echo upstream to the gateway) and its PEM
 * (read by the express baseline), and access tokens in exactly the product's format
 * (signAccessToken: typ at+jwt, kid, iss, sub, aud, exp, iat, jti, client_id, sid, role, scope).
 */
import { randomUUID } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, type CryptoKey } from 'jose';
import { buildJwks, generateSigningKey, signAccessToken, type SigningKey } from '@keygate/tokens';

export interface BenchIssuer {
  issuer: string;
  audience: string;
  jwksFile: string;
  publicKeyPemFile: string;
  sign(count: number, ttlSeconds: number): Promise<string[]>;
}

export async function createBenchIssuer(workDir: string, issuer: string, audience: string): Promise<BenchIssuer> {
  const generated = await generateSigningKey('RS256');
  const privateKey = (await importJWK(generated.privateJwk, 'RS256')) as CryptoKey;
  const key: SigningKey = { kid: generated.kid, alg: 'RS256', privateKey };
  const jwksFile = join(workDir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(buildJwks([{ kid: generated.kid, alg: 'RS256', publicJwk: generated.publicJwk }])));
  const publicKeyPemFile = join(workDir, 'public-key.pem');
  writeFileSync(publicKeyPemFile, createPublicKey({ key: generated.publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }));
  return {
    issuer,
    audience,
    jwksFile,
    publicKeyPemFile,
    async sign(count, ttlSeconds) {
      const tokens: string[] = [];
      for (let i = 0; i < count; i++) {
        // A distinct user and session per token, like distinct clients.
        const signed = await signAccessToken(key, { sub: randomUUID(), clientId: 'bench', role: 'user', sid: randomUUID(), scope: 'orders:read orders:write' }, { issuer, audience, ttlSeconds });
        tokens.push(signed.token);
      }
      return tokens;
    },
  };
}
