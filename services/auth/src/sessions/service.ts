/**
 * Sessions and refresh-token rotation: the domain logic the /auth/* routes use and that an
 * /oauth/token `refresh_token` or `password` grant reuses unchanged.
 *
 * Rotation (contract, "Rotation"): one transaction; the session row is locked (`select … for
 * update`) so concurrent refreshes of one session run one after another; the presented token is
 * spent and its successor issued in the same session. A spent token presented again revokes the
 * session, except the immediate predecessor within REFRESH_GRACE while its successor is unused,
 * which gets the SAME successor back (stored sealed for the grace window only; see
 * docs/decisions-auth.md). The idle expiry slides, the absolute expiry never moves.
 */
import { deriveKey, openSecret, sealSecret } from '@keygate/tokens';
import type { AuthContext, RequestMeta } from '../context.js';
import { recordAudit } from '../audit/service.js';
import { clearSealedSuccessor, findRefreshToken, insertRefreshToken, purgeSealedSuccessors, spendRefreshToken } from './refresh-tokens.repository.js';
import type { Db, RefreshTokenRow, SessionRow, UserRow } from '../db/schema.js';
import { findSession, insertSessionWithToken, listLiveSessions, lockSession, revokeClientSessionRows, revokeSessionRow, revokeUserClientSessionRows, revokeUserSessionRows, touchSession } from './repository.js';
import { findUser } from '../accounts/service.js';
import { generateRefreshToken, hashRefreshToken, looksLikeRefreshToken } from './refresh-token-values.js';
import { publishSessionRevocations, type PublishContext } from '../revocations/service.js';

const SUCCESSOR_PURPOSE = 'refresh-successor';
// HKDF once per configuration, not once per rotation (it was ~0.15 ms of every refresh).
const successorKeys = new WeakMap<AuthContext['config'], Buffer>();

function successorKey(ctx: Pick<AuthContext, 'config'>): Buffer {
  let key = successorKeys.get(ctx.config);
  if (!key) {
    key = deriveKey(ctx.config.keyEncryptionKey, SUCCESSOR_PURPOSE);
    successorKeys.set(ctx.config, key);
  }
  return key;
}

function clip(value: string | null, max: number): string | null {
  return value === null ? null : value.slice(0, max);
}

/** RFC 8176 `amr` of a password sign-in, and of a password plus a one-time code. */
export const PASSWORD_AMR: readonly string[] = Object.freeze(['pwd']);
export const PASSWORD_OTP_AMR: readonly string[] = Object.freeze(['pwd', 'otp']);

export interface StartedSession {
  session: SessionRow;
  refreshToken: string;
}

export interface StartOptions {
  scope?: string | null;
  /** How the user authenticated (RFC 8176); `["pwd"]` unless a second factor was checked too. */
  amr?: readonly string[];
  /** Remember me (the cookie flow): a persistent refresh cookie. OAuth clients keep their own tokens. */
  remember?: boolean;
  /** When the password was checked, if not now (the sign-in form, before the code exchange). */
  authTime?: Date;
  /** `details` of the login_success audit row (which grant, which client). */
  auditDetails?: Record<string, unknown>;
}

/**
 * A new session (one login): the session, its first refresh token and the login_success audit
 * row, written by one statement (atomic without a transaction of its own).
 */
export async function startSession(
  ctx: Pick<AuthContext, 'db' | 'config'>,
  user: Pick<UserRow, 'id'>,
  clientId: string,
  meta: RequestMeta,
  options: StartOptions = {},
): Promise<StartedSession> {
  return startSessionIn(ctx.db, ctx.config, user, clientId, meta, options);
}

/** startSession inside a transaction the caller holds (the authorization-code exchange does). */
export async function startSessionIn(
  db: Db,
  config: AuthContext['config'],
  user: Pick<UserRow, 'id'>,
  clientId: string,
  meta: RequestMeta,
  options: StartOptions = {},
): Promise<StartedSession> {
  const refreshToken = generateRefreshToken();
  const session = await insertSessionWithToken(db, {
    userId: user.id,
    clientId,
    ip: clip(meta.ip, 64),
    userAgent: clip(meta.userAgent, 512),
    idleSeconds: config.refreshTokenTtl,
    absoluteSeconds: config.sessionMaxAge,
    scope: options.scope ?? null,
    amr: options.amr ?? PASSWORD_AMR,
    remember: options.remember ?? false,
    authTime: options.authTime ?? null,
    firstTokenHash: hashRefreshToken(refreshToken),
    audit: { ip: meta.ip, userAgent: meta.userAgent, details: options.auditDetails ?? {} },
  });
  return { session, refreshToken };
}

export type RotationFailure = 'unknown_token' | 'wrong_client' | 'session_revoked' | 'session_expired' | 'user_disabled' | 'reuse_detected';

export type RotationResult<T = undefined> =
  | { ok: true; refreshToken: string; session: SessionRow; user: UserRow; idempotentRetry: boolean; issued: T }
  | { ok: false; reason: RotationFailure; sessionId?: string; userId?: string };

/**
 * Work for a rotation that will succeed, started as soon as the session and user have passed their
 * checks under the lock (e.g. signing the access token), so it runs beside the rotation's
 * remaining writes instead of after the commit: the RS256 signature (~1 ms on the thread pool)
 * overlaps the round trips. Its result is handed out only once the transaction has committed; if
 * the rotation fails after all, it is dropped unseen.
 */
export type AlongsideRotation<T> = (session: SessionRow, user: UserRow) => Promise<T>;

export interface RotateOptions {
  /**
   * Only a session of this client is rotated: another client's token is refused ('wrong_client')
   * before anything is spent or revoked, so presenting it in the wrong place costs its owner nothing.
   */
  clientId?: string;
}

/**
 * Spends `presented` and returns its successor. Failures are returned, not thrown, so a reuse
 * revocation commits before the caller answers 401 invalid_grant.
 */
export async function rotateRefreshToken(ctx: AuthContext, presented: string, meta: RequestMeta, options?: RotateOptions): Promise<RotationResult>;
export async function rotateRefreshToken<T>(ctx: AuthContext, presented: string, meta: RequestMeta, options: RotateOptions, alongside: AlongsideRotation<T>): Promise<RotationResult<T>>;
export async function rotateRefreshToken<T>(ctx: AuthContext, presented: string, meta: RequestMeta, options: RotateOptions = {}, alongside?: AlongsideRotation<T>): Promise<RotationResult<T | undefined>> {
  if (!looksLikeRefreshToken(presented)) return { ok: false, reason: 'unknown_token' };
  const presentedHash = hashRefreshToken(presented);
  let pending: Promise<T> | undefined;
  const start = (session: SessionRow, user: UserRow): void => {
    if (!alongside) return;
    pending = alongside(session, user);
    // Awaited after the commit; until then a failure must not surface as an unhandled rejection.
    pending.catch(() => {});
  };
  const rotated = await ctx.db.transaction().execute(async (trx): Promise<RotationResult> => {
    const probe = await findRefreshToken(trx, presentedHash);
    if (!probe) return { ok: false, reason: 'unknown_token' };
    const session = await lockSession(trx, probe.session_id);
    if (!session) return { ok: false, reason: 'unknown_token' };
    const failure = { sessionId: session.id, userId: session.user_id };
    if (options.clientId !== undefined && session.client_id !== options.clientId) return { ok: false, reason: 'wrong_client', ...failure };
    if (session.revoked_at !== null) return { ok: false, reason: 'session_revoked', ...failure };
    const now = session.db_now.getTime();
    if (session.absolute_expires_at.getTime() <= now || session.idle_expires_at.getTime() <= now) return { ok: false, reason: 'session_expired', ...failure };
    const user = await findUser(trx, session.user_id);
    if (!user || user.disabled) return { ok: false, reason: 'user_disabled', ...failure };
    // Re-read under the lock: another rotation of this session may have just spent it.
    const token = (await findRefreshToken(trx, presentedHash))!;

    if (token.spent_at === null) {
      start(session, user);
      const successor = generateRefreshToken();
      const successorHash = hashRefreshToken(successor);
      const sealed = ctx.config.refreshGrace > 0 ? sealSecret(Buffer.from(successor, 'utf8'), successorKey(ctx), `rt:${presentedHash.toString('hex')}`) : null;
      await spendRefreshToken(trx, presentedHash, successorHash, sealed);
      await insertRefreshToken(trx, { tokenHash: successorHash, sessionId: session.id, parentHash: presentedHash });
      // Using this token closes its predecessor's grace window.
      if (token.parent_hash !== null) await clearSealedSuccessor(trx, token.parent_hash);
      await touchSession(trx, session.id, ctx.config.refreshTokenTtl);
      await recordAudit(trx, { event: 'refresh', userId: user.id, sessionId: session.id, ip: meta.ip, userAgent: clip(meta.userAgent, 512) });
      return { ok: true, refreshToken: successor, session, user, idempotentRetry: false, issued: undefined };
    }

    // Spent. The grace exception: spent within REFRESH_GRACE, its successor still unused.
    const withinGrace = token.spent_at.getTime() + ctx.config.refreshGrace * 1000 >= now;
    if (withinGrace && token.successor_hash !== null && token.successor_sealed !== null) {
      const successorRow = await findRefreshToken(trx, token.successor_hash);
      if (successorRow && successorRow.spent_at === null) {
        const successor = openSecret(token.successor_sealed, successorKey(ctx), `rt:${presentedHash.toString('hex')}`).toString('utf8');
        start(session, user);
        return { ok: true, refreshToken: successor, session, user, idempotentRetry: true, issued: undefined };
      }
    }

    // Theft detection: revoke the whole family.
    await revokeSessionRow(trx, session.id, 'refresh_token_reuse');
    await recordAudit(trx, {
      event: 'refresh_reuse_detected',
      userId: user.id,
      sessionId: session.id,
      ip: meta.ip,
      userAgent: clip(meta.userAgent, 512),
      details: { spent_at: token.spent_at.toISOString() },
    });
    return { ok: false, reason: 'reuse_detected', ...failure };
  });
  const result: RotationResult<T | undefined> = rotated.ok ? { ...rotated, issued: pending === undefined ? undefined : await pending } : rotated;
  ctx.metrics.refreshes.inc({ outcome: result.ok ? (result.idempotentRetry ? 'grace_retry' : 'rotated') : result.reason });
  if (!result.ok && result.reason === 'reuse_detected' && result.sessionId !== undefined) {
    ctx.log.warn({ sessionId: result.sessionId, userId: result.userId }, 'refresh token reuse detected: session revoked');
    await publishSessionRevocations(ctx, [result.sessionId]);
  }
  return result;
}

/** The session a refresh token (spent or not) belongs to, for logout by cookie. */
export async function sessionOfRefreshToken(ctx: Pick<AuthContext, 'db'>, presented: string): Promise<SessionRow | undefined> {
  if (!looksLikeRefreshToken(presented)) return undefined;
  const token = await findRefreshToken(ctx.db, hashRefreshToken(presented));
  return token ? findSession(ctx.db, token.session_id) : undefined;
}

export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'session_delete'
  | 'password_change'
  | 'user_disabled'
  | 'role_change'
  | 'refresh_token_reuse'
  | 'oauth_revoke'
  | 'authorization_code_replay'
  | 'client_deleted'
  | 'account_deleted'
  | 'consent_withdrawn'
  | 'rp_logout';

/** What revoking sessions needs: the database and what announcing them needs. */
export type RevokeContext = PublishContext & Pick<AuthContext, 'db'>;

/** Revokes one session and tells the gateways; false when it was not live. */
export async function revokeSession(ctx: RevokeContext, sessionId: string, reason: RevocationReason): Promise<boolean> {
  const revoked = await revokeSessionRow(ctx.db, sessionId, reason);
  if (revoked) await publishSessionRevocations(ctx, [sessionId]);
  return revoked;
}

/** Revokes every live session of a user (but `exceptSessionId`) and tells the gateways. */
export async function revokeUserSessions(ctx: RevokeContext, userId: string, reason: RevocationReason, exceptSessionId?: string): Promise<string[]> {
  const ids = await revokeUserSessionRows(ctx.db, userId, reason, exceptSessionId);
  await publishSessionRevocations(ctx, ids);
  return ids;
}

/** Revokes a user's live sessions inside the caller's transaction; the caller publishes the ids after commit. */
export function revokeUserSessionsIn(db: Db, userId: string, reason: RevocationReason, exceptSessionId?: string): Promise<string[]> {
  return revokeUserSessionRows(db, userId, reason, exceptSessionId);
}

/** Revokes every live session of an OAuth client inside the caller's transaction (the client's deletion); the caller publishes the ids after commit. */
export function revokeClientSessionsIn(db: Db, clientId: string, reason: RevocationReason): Promise<string[]> {
  return revokeClientSessionRows(db, clientId, reason);
}

/** Revokes the sessions one client holds for one user inside the caller's transaction; the caller publishes after commit. */
export function revokeUserClientSessionsIn(db: Db, userId: string, clientId: string, reason: RevocationReason): Promise<string[]> {
  return revokeUserClientSessionRows(db, userId, clientId, reason);
}

/** Revokes one session inside the caller's transaction; the caller publishes after commit. */
export function revokeSessionIn(db: Db, sessionId: string, reason: RevocationReason): Promise<boolean> {
  return revokeSessionRow(db, sessionId, reason);
}

/** A session by id, whatever its state. */
export function sessionById(db: Db, id: string): Promise<SessionRow | undefined> {
  return findSession(db, id);
}

/** The live sessions of a user (GET /auth/sessions). */
export function liveSessionsOf(db: Db, userId: string): Promise<SessionRow[]> {
  return listLiveSessions(db, userId);
}

/** An unspent refresh token's row and its session (introspection decides what is still live). */
export async function unspentRefreshToken(db: Db, presented: string): Promise<{ token: RefreshTokenRow; session: SessionRow | undefined } | undefined> {
  const token = await findRefreshToken(db, hashRefreshToken(presented));
  if (!token || token.spent_at !== null) return undefined;
  return { token, session: await findSession(db, token.session_id) };
}

/** Ends one session of the caller (logout, DELETE /auth/sessions/{id}) with its audit row; false when it was not live. */
export async function endSession(ctx: RevokeContext, ended: { sessionId: string; userId: string | undefined }, event: 'logout' | 'session_revoked', meta: RequestMeta): Promise<boolean> {
  if (!(await revokeSession(ctx, ended.sessionId, event === 'logout' ? 'logout' : 'session_delete'))) return false;
  await recordAudit(ctx.db, { event, userId: ended.userId, sessionId: ended.sessionId, ip: meta.ip, userAgent: meta.userAgent });
  return true;
}

/** Ends every session of a user (logout-all) with its audit row; returns the revoked ids. */
export async function endAllSessions(ctx: RevokeContext, userId: string, currentSessionId: string | undefined, meta: RequestMeta): Promise<string[]> {
  const ids = await revokeUserSessions(ctx, userId, 'logout_all');
  await recordAudit(ctx.db, { event: 'logout_all', userId, sessionId: currentSessionId, ip: meta.ip, userAgent: meta.userAgent, details: { revoked_sessions: ids.length } });
  return ids;
}

/** Wipes sealed grace-window successors whose window is over (the purge plugin's task). */
export function purgeExpiredSuccessors(db: Db, graceSeconds: number): Promise<number> {
  return purgeSealedSuccessors(db, graceSeconds);
}
