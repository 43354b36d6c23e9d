/**
 * The gateway's proof of origin: an HMAC-SHA256, under the secret shared by the gateway and the
 * services behind it, over the request line and the identity the gateway asserts. A service
 * that checks it cannot be fooled by a client reaching it directly with forged X-User-* headers,
 * and a captured proof is useless on another method or path, or once the window has passed.
 *
 * Header: `X-Gateway-Proof: t=<unix ms>;v1=<base64url mac>`.
 * MAC input (newline-joined): "keygate-proof-v1", t, METHOD, path-with-query, user id, role, request id.
 */
import { hash, timingSafeEqual } from 'node:crypto';

export const PROOF_HEADER = 'x-gateway-proof';
export const USER_ID_HEADER = 'x-user-id';
export const USER_ROLE_HEADER = 'x-user-role';
export const REQUEST_ID_HEADER = 'x-request-id';

/** Headers a client must never be able to set: the gateway removes them all before forwarding. */
export const TRUSTED_HEADER_NAMES = [PROOF_HEADER, USER_ID_HEADER, USER_ROLE_HEADER] as const;

export const DEFAULT_PROOF_WINDOW_MS = 30_000;
const MIN_SECRET_BYTES = 32;

export interface ProofClaims {
  method: string;
  /** The request target as the upstream sees it: path plus query string. */
  path: string;
  userId: string;
  role: string;
  requestId: string;
}

/**
 * HMAC-SHA256 (RFC 2104) over one-shot `crypto.hash` calls, with the key's inner and outer pads
 * computed once per secret. The gateway signs every request: `createHmac` allocates a native Hmac
 * object each time, and inside the loaded gateway that measured ~10 µs per request (5 % of its
 * CPU) against ~2 µs for the two one-shot digests. Same bytes as `createHmac('sha256', secret)`
 * (checked against it in the tests), including RFC 2104's rule for a key longer than a block.
 */
const BLOCK_BYTES = 64;
interface MacKey {
  /** secret XOR ipad, followed by room for the message (grown as needed). */
  inner: Buffer;
  /** secret XOR opad, followed by the 32-byte inner digest. */
  outer: Buffer;
}
const macKeys = new WeakMap<Buffer, MacKey>();

function macKeyOf(secret: Buffer): MacKey {
  let key = macKeys.get(secret);
  if (key === undefined) {
    const block = secret.length > BLOCK_BYTES ? hash('sha256', secret, 'buffer') : secret;
    const inner = Buffer.alloc(BLOCK_BYTES + 256, 0x36);
    const outer = Buffer.alloc(BLOCK_BYTES + 32, 0x5c);
    for (let i = 0; i < block.length; i += 1) {
      inner[i] = 0x36 ^ block[i]!;
      outer[i] = 0x5c ^ block[i]!;
    }
    key = { inner, outer };
    macKeys.set(secret, key);
  }
  return key;
}

/** HMAC-SHA256 of `message` (UTF-8) under `secret`; exported for the equivalence test. */
export function hmacSha256(secret: Buffer, message: string): Buffer {
  const key = macKeyOf(secret);
  const length = Buffer.byteLength(message);
  if (key.inner.length < BLOCK_BYTES + length) {
    const grown = Buffer.alloc(BLOCK_BYTES + 2 * length);
    key.inner.copy(grown, 0, 0, BLOCK_BYTES);
    key.inner = grown;
  }
  // Both buffers are scratch space: hash() is synchronous, so no call can see another's bytes.
  key.inner.write(message, BLOCK_BYTES, 'utf8');
  hash('sha256', key.inner.subarray(0, BLOCK_BYTES + length), 'buffer').copy(key.outer, BLOCK_BYTES);
  return hash('sha256', key.outer, 'buffer');
}

function mac(secret: Buffer, timestamp: number, claims: ProofClaims): Buffer {
  return hmacSha256(secret, ['keygate-proof-v1', String(timestamp), claims.method.toUpperCase(), claims.path, claims.userId, claims.role, claims.requestId].join('\n'));
}

function assertSecret(secret: Buffer): void {
  if (secret.length < MIN_SECRET_BYTES) throw new Error(`the gateway secret must be at least ${MIN_SECRET_BYTES} bytes`);
}

export function signGatewayProof(secret: Buffer, claims: ProofClaims, now: number = Date.now()): string {
  assertSecret(secret);
  return `t=${now};v1=${mac(secret, now, claims).toString('base64url')}`;
}

export type ProofFailure = 'missing' | 'malformed' | 'expired' | 'bad_signature';

export type ProofCheck = { ok: true; timestamp: number } | { ok: false; reason: ProofFailure };

const PROOF_PATTERN = /^t=(\d{1,16});v1=([A-Za-z0-9_-]{43})$/;

/** Checks a proof header against the request it arrived with. Never throws. */
export function verifyGatewayProof(
  secret: Buffer,
  header: string | undefined,
  claims: ProofClaims,
  options: { windowMs?: number; now?: number } = {},
): ProofCheck {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const match = PROOF_PATTERN.exec(header);
  if (!match) return { ok: false, reason: 'malformed' };
  const timestamp = Number(match[1]);
  const now = options.now ?? Date.now();
  const windowMs = options.windowMs ?? DEFAULT_PROOF_WINDOW_MS;
  if (Math.abs(now - timestamp) > windowMs) return { ok: false, reason: 'expired' };
  const expected = mac(secret, timestamp, claims);
  const given = Buffer.from(match[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  return { ok: true, timestamp };
}
