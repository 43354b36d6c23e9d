/**
 * A login's Idempotency-Key (contract, "Sessions"): nginx resends a login reset on its way (a
 * gateway's last instant, or a gateway killed after forwarding it), with the same key. The first
 * try's refresh token is kept only as a hash, so its answer cannot be handed back; instead the
 * resend's session supersedes the one the first try started (migration 0011), so no orphan
 * session stays live.
 *
 * The key counts only for the same login: the session row stores SHA-256 over the key and what
 * the login asked for and from where (the endpoint or grant, the client, remember, amr, scope,
 * the client address and user agent; never the password), so a client that reuses one key for
 * every login, or another device with the same key, starts an independent session as without a
 * key.
 */
import { createHash, createHmac } from 'node:crypto';
import { deriveKey } from '@keygate/tokens';
import type { RequestMeta } from '../context.js';

/** How long after a login a repeat with its key supersedes its session (nginx resends within 10 s). */
export const LOGIN_SUPERSEDE_SECONDS = 60;

export interface LoginKeyRequest {
  /** Which endpoint or grant (the login_success row's details): /auth/login and the password grant differ. */
  via: string;
  clientId: string;
  remember: boolean;
  amr: readonly string[];
  scope: string | null;
}

const ATTEMPT_PURPOSE = 'login-attempt-id';
// HKDF once per configuration, not once per login.
const attemptKeys = new WeakMap<object, Buffer>();

/**
 * The login limits' id of one attempt (login-limiter.ts): HMAC over the key, the identifier and the
 * password, so a resend counts once while a client reusing one key for another guess is counted
 * again. Keyed with a secret derived from KEY_ENCRYPTION_KEY: what Redis holds is no fast hash of a
 * password. Undefined without a key.
 */
export function loginAttemptId(config: { keyEncryptionKey: Buffer }, key: string | undefined, identifier: string, password: string): string | undefined {
  if (key === undefined) return undefined;
  let secret = attemptKeys.get(config);
  if (!secret) {
    secret = deriveKey(config.keyEncryptionKey, ATTEMPT_PURPOSE);
    attemptKeys.set(config, secret);
  }
  return createHmac('sha256', secret).update(JSON.stringify([key, identifier, password])).digest('base64url');
}

/** The session's `login_key`: SHA-256 over the key and the login's request, fields NUL-separated. */
export function loginKey(key: string, request: LoginKeyRequest, meta: RequestMeta): Buffer {
  const fields = [key, request.via, request.clientId, request.remember ? '1' : '0', request.amr.join(' '), request.scope ?? '', meta.ip ?? '', meta.userAgent ?? ''];
  return createHash('sha256').update(fields.join('\0')).digest();
}
