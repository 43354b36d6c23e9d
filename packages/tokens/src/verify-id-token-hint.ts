/**
 * Verifies an `id_token_hint` (OIDC RP-Initiated Logout 1.0 §2): an ID token this issuer signed,
 * with a key it still publishes (a revoked key's tokens are refused), `typ` JWT (an access token
 * is no hint), this `iss`. Expiry is NOT checked: the specification lets a hint be expired (a user
 * may sign out long after the ID token's lifetime), and the signature is what proves it ours.
 * Undefined for anything that fails.
 */
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { KeySource } from './key-source.js';
import { isKeyId } from './key-source.js';

export interface IdTokenHintClaims {
  sub: string;
  aud: string;
  sid?: string;
}

export async function verifyIdTokenHint(source: KeySource, token: string, issuer: string): Promise<IdTokenHintClaims | undefined> {
  if (token.length > 8192) return undefined;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return undefined;
  }
  if (header.typ !== 'JWT' || typeof header.kid !== 'string' || !isKeyId(header.kid) || source.refuses?.(header.kid)) return undefined;
  const key = await source.resolve(header.kid);
  if (!key || header.alg !== key.alg) return undefined;
  let payload: Record<string, unknown>;
  try {
    const verified = await compactVerify(token, key.key, { algorithms: [key.alg] });
    payload = JSON.parse(new TextDecoder().decode(verified.payload)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== 'object' || payload.iss !== issuer || typeof payload.sub !== 'string' || typeof payload.aud !== 'string') return undefined;
  return { sub: payload.sub, aud: payload.aud, ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}) };
}
