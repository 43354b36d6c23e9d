/**
 * Signs an OpenID Connect ID token (OIDC Core 1.0 §2, §3.1.3.6) with the same current key as access
 * tokens, header {alg, typ:"JWT", kid}: `typ` tells it apart from an access token (at+jwt), so
 * neither can be presented as the other. `at_hash` binds it to the access token issued with it.
 */
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningAlg } from './algorithms.js';
import type { SigningKey } from './decrypt-private-key.js';

/** What an ID token says; signIdToken adds iss, iat and exp. */
export interface NewIdToken {
  sub: string;
  /** The client: `aud` and `azp`. */
  clientId: string;
  /** Seconds since the epoch: when the user last authenticated for this session. */
  authTime: number;
  sid: string;
  /** The access token issued beside it (for at_hash). */
  accessToken: string;
  /** The authorization request's nonce; absent on refresh (OIDC Core §12.2). */
  nonce?: string | undefined;
  /** With scope `email`. */
  email?: { email: string; verified: boolean } | undefined;
}

export interface IdTokenSignOptions {
  issuer: string;
  ttlSeconds: number;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

/**
 * OIDC Core §3.1.3.6: the left half of the hash of the access token's ASCII octets, with the hash of
 * the JWS algorithm (SHA-256 for RS256, PS256, ES256; Ed25519's EdDSA signs with SHA-512, which
 * the OpenID Foundation's errata name for it).
 */
export function accessTokenHash(alg: SigningAlg, accessToken: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export async function signIdToken(key: SigningKey, claims: NewIdToken, options: IdTokenSignOptions): Promise<string> {
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    auth_time: claims.authTime,
    at_hash: accessTokenHash(key.alg, claims.accessToken),
    sid: claims.sid,
    azp: claims.clientId,
  };
  if (claims.nonce !== undefined) payload.nonce = claims.nonce;
  if (claims.email !== undefined) {
    payload.email = claims.email.email;
    payload.email_verified = claims.email.verified;
  }
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid })
    .setIssuer(options.issuer)
    .setSubject(claims.sub)
    .setAudience(claims.clientId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds)
    .sign(key.privateKey);
}
