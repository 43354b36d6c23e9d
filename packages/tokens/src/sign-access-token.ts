/**
 * Signs an access token as RFC 9068 and the contract describe it: header {alg, typ:"at+jwt", kid},
 * claims iss, sub, aud, exp, iat, jti, client_id, sid?, role, scope?, amr?. Nothing personal beyond sub.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from './decrypt-private-key.js';

/** What a new token says about its subject; signAccessToken adds iss, aud, exp, iat and jti. */
export interface NewAccessToken {
  sub: string;
  clientId: string;
  role: string;
  /** The session; absent for client_credentials tokens. */
  sid?: string | undefined;
  scope?: string | undefined;
  /** How the user authenticated (RFC 8176 values: `pwd`, `otp`); absent for client_credentials. */
  amr?: readonly string[] | undefined;
}

export interface SignOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

export interface SignedAccessToken {
  token: string;
  jti: string;
  iat: number;
  exp: number;
}

export async function signAccessToken(key: SigningKey, claims: NewAccessToken, options: SignOptions): Promise<SignedAccessToken> {
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  const exp = iat + options.ttlSeconds;
  const jti = randomUUID();
  const payload: Record<string, string | string[]> = { client_id: claims.clientId, role: claims.role };
  if (claims.sid !== undefined) payload.sid = claims.sid;
  if (claims.scope !== undefined && claims.scope !== '') payload.scope = claims.scope;
  if (claims.amr !== undefined && claims.amr.length > 0) payload.amr = [...claims.amr];
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
    .setIssuer(options.issuer)
    .setSubject(claims.sub)
    .setAudience(options.audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key.privateKey);
  return { token, jti, iat, exp };
}
