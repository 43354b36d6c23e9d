/**
 * Sessions and refresh-token rotation: the domain logic the /auth/* routes use and that an
 * /oauth/token `refresh_token` or `password` grant reuses unchanged.
 *
 * Rotation (contract, "Rotation"): one statement (auth.rotate_refresh_token, migration 0009); the
 * session row is locked (`select … for update`) so concurrent refreshes of one session run one after
 * another; the presented token is spent and its successor issued in the same session. A spent token presented again revokes the
 * session, except the immediate predecessor within REFRESH_GRACE while its successor is unused,
 * which gets the SAME successor back (stored sealed for the grace window only; see
 * docs/decisions-auth.md). The idle expiry slides, the absolute expiry never moves.
 */
import { deriveKey, openSecret, sealSecret } from '@keygate/tokens';
import type { AuthContext, RequestMeta } from '../context.js';
import { recordAudit } from '../audit/service.js';
import { findRefreshToken, purgeSealedSuccessors, rotateInDatabase, type RotatedSession, type RotatedUser } from './refresh-tokens.repository.js';
import type { Db, RefreshTokenRow, SessionRow, UserRow } from '../db/schema.js';
import { findSession, findSessionOfToken, insertSessionWithToken, listLiveSessions, revokeClientSessionRows, revokeSessionRow, revokeUserClientSessionRows, revokeUserSessionRows } from './repository.js';
import { generateRefreshToken, hashRefreshToken, looksLikeRefreshToken } from './refresh-token-values.js';
import { publishSessionRevocations, type PublishContext } from '../revocations/service.js';
import { LOGIN_SUPERSEDE_SECONDS, loginKey } from './login-key.js';

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
  /** Sessions an earlier try of this login (same Idempotency-Key) started, revoked with this one's insert. */
  superseded: string[];
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
  /**
   * The request's Idempotency-Key: a live session of the user started by the same login with the
   * same key in the last LOGIN_SUPERSEDE_SECONDS is revoked with this one's insert (login-key.ts).
   */
  idempotencyKey?: string;
}

/**
 * A new session (one login): the session, its first refresh token and the login_success audit
 * row, written by one statement (atomic without a transaction of its own). A session it
 * superseded (a resent login) is announced to the gateways once that statement has committed.
 */
export async function startSession(
  ctx: RevokeContext,
  user: Pick<UserRow, 'id'>,
  clientId: string,
  meta: RequestMeta,
  options: StartOptions = {},
): Promise<StartedSession> {
  const started = await startSessionIn(ctx.db, ctx.config, user, clientId, meta, options);
  if (started.superseded.length > 0) {
    ctx.log.info({ userId: user.id, sessionId: started.session.id, superseded: started.superseded }, 'login repeated with its Idempotency-Key: the earlier session revoked');
    await publishSessionRevocations(ctx, started.superseded);
  }
  return started;
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
  const scope = options.scope ?? null;
  const amr = options.amr ?? PASSWORD_AMR;
  const remember = options.remember ?? false;
  const { superseded_ids: superseded, ...session } = await insertSessionWithToken(db, {
    userId: user.id,
    clientId,
    ip: clip(meta.ip, 64),
    userAgent: clip(meta.userAgent, 512),
    idleSeconds: config.refreshTokenTtl,
    absoluteSeconds: config.sessionMaxAge,
    scope,
    amr,
    remember,
    authTime: options.authTime ?? null,
    firstTokenHash: hashRefreshToken(refreshToken),
    audit: { ip: meta.ip, userAgent: meta.userAgent, details: options.auditDetails ?? {} },
    loginKey: options.idempotencyKey === undefined ? null : loginKey(options.idempotencyKey, { via: JSON.stringify(options.auditDetails ?? {}), clientId, remember, amr, scope }, meta),
    supersedeSeconds: LOGIN_SUPERSEDE_SECONDS,
  });
  return { session, refreshToken, superseded };
}

export type RotationFailure = 'unknown_token' | 'wrong_client' | 'session_revoked' | 'session_expired' | 'user_disabled' | 'reuse_detected';

export type { RotatedSession, RotatedUser };

export type RotationResult<T = undefined> =
  | { ok: true; refreshToken: string; session: RotatedSession; user: RotatedUser; idempotentRetry: boolean; issued: T }
  | { ok: false; reason: RotationFailure; sessionId?: string; userId?: string };

/**
 * Work for a rotation that succeeded (signing the access token), run once its statement has
 * committed; the result is handed out with the rotation's. With the rotation one round trip there
 * is no database work left to overlap it with (docs/decisions-auth.md, "Refresh rotation: one
 * round trip").
 */
export type AlongsideRotation<T> = (session: RotatedSession, user: RotatedUser) => Promise<T>;

export interface RotateOptions {
  /**
   * Only a session of this client is rotated: another client's token is refused ('wrong_client')
   * before anything is spent or revoked, so presenting it in the wrong place costs its owner nothing.
   */
  clientId?: string;
}

/**
 * Spends `presented` and returns its successor: one call of auth.rotate_refresh_token (migration
 * 0009), which locks the session, checks it and writes everything — spend, successor, parent's
 * sealed successor cleared, idle expiry slid, audit row; or the session revoked and the reuse
 * audited — as one statement, so one round trip and atomic without begin/commit. Failures are
 * returned, not thrown; a reuse revocation has committed (and is published here) before the
 * caller answers 401 invalid_grant.
 */
export async function rotateRefreshToken(ctx: AuthContext, presented: string, meta: RequestMeta, options?: RotateOptions): Promise<RotationResult>;
export async function rotateRefreshToken<T>(ctx: AuthContext, presented: string, meta: RequestMeta, options: RotateOptions, alongside: AlongsideRotation<T>): Promise<RotationResult<T>>;
export async function rotateRefreshToken<T>(ctx: AuthContext, presented: string, meta: RequestMeta, options: RotateOptions = {}, alongside?: AlongsideRotation<T>): Promise<RotationResult<T | undefined>> {
  if (!looksLikeRefreshToken(presented)) return { ok: false, reason: 'unknown_token' };
  const presentedHash = hashRefreshToken(presented);
  // The successor is made (and sealed for the grace window) before the call, so the statement can
  // write it; when the rotation is refused it is dropped, never stored.
  const successor = generateRefreshToken();
  const associated = `rt:${presentedHash.toString('hex')}`;
  const sealed = ctx.config.refreshGrace > 0 ? sealSecret(Buffer.from(successor, 'utf8'), successorKey(ctx), associated) : null;
  const row = await rotateInDatabase(ctx.db, {
    presentedHash,
    successorHash: hashRefreshToken(successor),
    successorSealed: sealed,
    clientId: options.clientId ?? null,
    idleSeconds: ctx.config.refreshTokenTtl,
    graceSeconds: ctx.config.refreshGrace,
    ip: meta.ip,
    userAgent: clip(meta.userAgent, 512),
  });
  let result: RotationResult<T | undefined>;
  if (row.outcome === 'rotated' || row.outcome === 'grace_retry') {
    const retry = row.outcome === 'grace_retry';
    const refreshToken = retry ? openSecret(row.successorSealed!, successorKey(ctx), associated).toString('utf8') : successor;
    const session = row.session!;
    const issued = alongside ? await alongside(session, row.user!) : undefined;
    result = { ok: true, refreshToken, session, user: row.user!, idempotentRetry: retry, issued };
  } else {
    result = { ok: false, reason: row.outcome, ...(row.session ? { sessionId: row.session.id, userId: row.session.user_id } : {}) };
  }
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
  return findSessionOfToken(ctx.db, hashRefreshToken(presented));
}

export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'session_delete'
  | 'password_change'
  | 'password_reset'
  | 'user_disabled'
  | 'role_change'
  | 'refresh_token_reuse'
  | 'oauth_revoke'
  | 'authorization_code_replay'
  | 'client_deleted'
  | 'account_deleted'
  | 'consent_withdrawn'
  | 'rp_logout'
  | 'login_superseded';

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
