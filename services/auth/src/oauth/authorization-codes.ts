/**
 * Authorization codes (RFC 6749 §4.1 with PKCE S256 only, RFC 7636): 256 random bits, stored by
 * SHA-256, 60 s lifetime, single use. The exchange locks the code row, so of two concurrent
 * exchanges exactly one wins; the session it creates is recorded on the row, and a replayed code
 * revokes that session (RFC 6749 §4.1.2: "SHOULD revoke all tokens previously issued based on that
 * authorization code"), which the gateways then refuse within a second.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { scopeSet } from '@keygate/tokens';
import type { AuthContext, RequestMeta } from '../context.js';
import { publishSessionRevocations, type PublishContext } from '../revocations/service.js';
import { revokeSessionIn, startSessionIn, type StartedSession } from '../sessions/service.js';
import { recordAudit } from '../audit/service.js';
import { insertAuthorizationCode, lockAuthorizationCode, markAuthorizationCodeUsed, purgeAuthorizationCodes, type NewAuthorizationCode } from './authorization-codes.repository.js';
import type { Db, UserRow } from '../db/schema.js';
import { findUser } from '../accounts/service.js';
import { scopeForRole } from './scopes.js';

export const AUTHORIZATION_CODE_TTL_SECONDS = 60;
/**
 * Used or expired authorization codes are kept this long after expiry, so a replay within that
 * time still finds the code and revokes the session it created (an access token lives at most
 * ACCESS_TOKEN_TTL; the refresh token far longer, hence a day).
 */
const CODE_KEEP_SECONDS = 86_400;

/** Deletes codes past their keep time (the purge plugin's task). */
export function purgeSpentCodes(db: Db): Promise<void> {
  return purgeAuthorizationCodes(db, CODE_KEEP_SECONDS);
}
/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
export const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/;
/** BASE64URL(SHA-256(verifier)): always 43 characters. */
export const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function hashCode(code: string): Buffer {
  return createHash('sha256').update(code, 'utf8').digest();
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** What the sign-in hands over for a code: the stored row's fields but its hash and lifetime. */
export type CodeRequest = Omit<NewAuthorizationCode, 'codeHash' | 'ttlSeconds'>;

export async function issueAuthorizationCode(ctx: Pick<AuthContext, 'db'>, request: CodeRequest): Promise<string> {
  const code = randomBytes(32).toString('base64url');
  await insertAuthorizationCode(ctx.db, { codeHash: hashCode(code), ...request, ttlSeconds: AUTHORIZATION_CODE_TTL_SECONDS });
  return code;
}

export type ExchangeFailure = 'unknown_code' | 'replayed' | 'expired' | 'wrong_client' | 'redirect_uri_mismatch' | 'pkce_mismatch' | 'user_disabled';

export type ExchangeResult =
  | { ok: true; user: UserRow; started: StartedSession; scope: string | null; nonce: string | null }
  | { ok: false; reason: ExchangeFailure; revokedSessionId?: string };

/**
 * Spends a code. Failures are returned, not thrown, so a replay's revocation commits. Every
 * failure leaves an unused code usable (a wrong verifier from an attacker does not burn the
 * legitimate client's code; guessing a verifier is infeasible).
 */
export async function exchangeAuthorizationCode(
  ctx: Pick<AuthContext, 'db' | 'config'> & PublishContext,
  input: {
    code: string;
    clientId: string;
    /** Undefined when the token request omitted it: allowed when the client has exactly one registered (RFC 6749 §4.1.3). */
    redirectUri: string | undefined;
    registeredRedirectUris: readonly string[];
    codeVerifier: string;
  },
  meta: RequestMeta,
): Promise<ExchangeResult> {
  const codeHash = hashCode(input.code);
  const result = await ctx.db.transaction().execute(async (trx): Promise<ExchangeResult> => {
    const row = await lockAuthorizationCode(trx, codeHash);
    if (!row) return { ok: false, reason: 'unknown_code' };
    if (row.used_at !== null) {
      // Only the client the code was issued to can trigger the revocation (a leaked code in a
      // stranger's hands still does, which is the point: someone else holds it).
      const revoked = row.session_id !== null && (await revokeSessionIn(trx, row.session_id, 'authorization_code_replay'));
      await recordAudit(trx, { event: 'authorization_code_replay', userId: row.user_id, sessionId: row.session_id, ip: meta.ip, userAgent: meta.userAgent, details: { client_id: row.client_id } });
      return { ok: false, reason: 'replayed', ...(revoked && row.session_id !== null ? { revokedSessionId: row.session_id } : {}) };
    }
    if (row.expired) return { ok: false, reason: 'expired' };
    if (row.client_id !== input.clientId) return { ok: false, reason: 'wrong_client' };
    const redirectUri = input.redirectUri ?? (input.registeredRedirectUris.length === 1 ? input.registeredRedirectUris[0] : undefined);
    if (row.redirect_uri !== redirectUri) return { ok: false, reason: 'redirect_uri_mismatch' };
    const computed = Buffer.from(s256(input.codeVerifier));
    const expected = Buffer.from(row.code_challenge);
    if (computed.length !== expected.length || !timingSafeEqual(computed, expected)) return { ok: false, reason: 'pkce_mismatch' };
    const user = await findUser(trx, row.user_id);
    if (!user || user.disabled) return { ok: false, reason: 'user_disabled' };
    // The user is known only now: `admin` goes to admins alone (their role as of this exchange).
    const scope = scopeForRole([...scopeSet(row.scope)], user.role);
    const started = await startSessionIn(trx, ctx.config, user, row.client_id, meta, { scope, amr: row.amr, authTime: row.auth_time ?? undefined, auditDetails: { client_id: row.client_id, grant: 'authorization_code' } });
    await markAuthorizationCodeUsed(trx, codeHash, started.session.id);
    return { ok: true, user, started, scope, nonce: row.nonce };
  });
  if (!result.ok && result.revokedSessionId !== undefined) {
    ctx.log.warn({ sessionId: result.revokedSessionId }, 'authorization code replayed: its session revoked');
    await publishSessionRevocations(ctx, [result.revokedSessionId]);
  }
  return result;
}
