/**
 * The gateway's proof of origin: an HMAC-SHA256, under the secret shared by the gateway and the
 * services behind it, over the request line and the identity the gateway asserts — user, role,
 * the client the token was issued to and the scope it was granted. A service that checks it
 * cannot be fooled by a client reaching it directly with forged X-User-* headers, nor by anyone
 * on the way widening X-User-Scope, and a captured proof is useless on another method or path,
 * or once the window has passed.
 *
 * Header: `X-Gateway-Proof: t=<unix ms>;v2=<base64url mac>`.
 * MAC input (newline-joined): "keygate-proof-v2", t, METHOD, path-with-query, user id, role,
 * client id, scope, request id. None of them can hold a newline (header values; the gateway
 * refuses tokens whose claims could not travel as headers), so the joined text is unambiguous.
 * v2 because the input gained client id and scope: a v1 peer's proof fails as malformed, which
 * names the mismatch, rather than as a bad signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const PROOF_HEADER = 'x-gateway-proof';
export const USER_ID_HEADER = 'x-user-id';
export const USER_ROLE_HEADER = 'x-user-role';
export const REQUEST_ID_HEADER = 'x-request-id';
/** The token's `client_id` ('' when it has none). */
export const CLIENT_ID_HEADER = 'x-client-id';
/** The token's `scope`, space-separated as issued ('' when it has none). */
export const USER_SCOPE_HEADER = 'x-user-scope';

/** Headers a client must never be able to set: the gateway removes them all before forwarding. */
export const TRUSTED_HEADER_NAMES = [PROOF_HEADER, USER_ID_HEADER, USER_ROLE_HEADER, CLIENT_ID_HEADER, USER_SCOPE_HEADER] as const;

const PROOF_VERSION = 'keygate-proof-v2';

export const DEFAULT_PROOF_WINDOW_MS = 30_000;
const MIN_SECRET_BYTES = 32;

export interface ProofClaims {
  method: string;
  /** The request target as the upstream sees it: path plus query string. */
  path: string;
  userId: string;
  role: string;
  /** The token's client_id; '' when it has none. */
  clientId: string;
  /** The token's scope claim as issued; '' when it has none. */
  scope: string;
  requestId: string;
}

function macInput(timestamp: number, claims: ProofClaims): string {
  return `${PROOF_VERSION}\n${timestamp}\n${claims.method.toUpperCase()}\n${claims.path}\n${claims.userId}\n${claims.role}\n${claims.clientId}\n${claims.scope}\n${claims.requestId}`;
}

function mac(secret: Buffer, timestamp: number, claims: ProofClaims): Buffer {
  return createHmac('sha256', secret).update(macInput(timestamp, claims)).digest();
}

function assertSecret(secret: Buffer): void {
  if (secret.length < MIN_SECRET_BYTES) throw new Error(`the gateway secret must be at least ${MIN_SECRET_BYTES} bytes`);
}

export function signGatewayProof(secret: Buffer, claims: ProofClaims, now: number = Date.now()): string {
  assertSecret(secret);
  // Encoded by the digest itself: no intermediate Buffer on the gateway's hot path.
  return `t=${now};v2=${createHmac('sha256', secret).update(macInput(now, claims)).digest('base64url')}`;
}

export type ProofFailure = 'missing' | 'malformed' | 'expired' | 'bad_signature';

export type ProofCheck = { ok: true; timestamp: number } | { ok: false; reason: ProofFailure };

const PROOF_PATTERN = /^t=(\d{1,16});v2=([A-Za-z0-9_-]{43})$/;

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
