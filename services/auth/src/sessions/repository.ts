/** Sessions repository: one row per login; rotation and revocation lock or update it here. */
import { prepared } from '../db/prepared.js';
import type { Db, SessionRow } from '../db/schema.js';
import { dbNow } from '../db/sql-time.js';

export interface NewSession {
  userId: string;
  clientId: string;
  ip: string | null;
  userAgent: string | null;
  idleSeconds: number;
  absoluteSeconds: number;
  /** The OAuth scope granted at login, carried into every access token of the session. */
  scope?: string | null;
  /** How the user authenticated (`pwd`, `otp`): carried into every access token of the session. */
  amr: readonly string[];
  /** Remember me: whether its refresh cookie is persistent (Max-Age) or ends with the browser. */
  remember: boolean;
  /** OIDC auth_time; null is now. */
  authTime: Date | null;
  /** SHA-256 of the session's first refresh token. */
  firstTokenHash: Buffer;
  /** The login_success audit row written with it (`ip` and `user_agent` as given here). */
  audit: { ip: string | null; userAgent: string | null; details: Record<string, unknown> };
  /**
   * SHA-256 of the login's Idempotency-Key and request (sessions/login-key.ts), or null: a live
   * session of the user with the same key started within `supersedeSeconds` is revoked
   * ('login_superseded') by the same statement (migration 0011).
   */
  loginKey: Buffer | null;
  supersedeSeconds: number;
}

/** A started session and the ids of the sessions its login superseded (usually none). */
export type InsertedSession = SessionRow & { superseded_ids: string[] };

/**
 * A login's writes as one statement: the session, its first refresh token and the login_success
 * audit row. One statement is atomic on its own, so a login needs no begin/commit and makes one
 * round trip instead of five (docs/decisions-auth.md, "Login in one statement"). With a login key,
 * auth.supersede_login (migration 0011) first revokes the session an earlier try with the same key
 * started; the insert reads its result, so it runs after it, and the audit row names what it revoked.
 */
const INSERT_WITH_TOKEN = prepared<InsertedSession>(`with "superseded" as (
  select "auth"."supersede_login"($1, $15::bytea, $16::integer) as "ids"
), "session" as (
  insert into "auth"."sessions" ("user_id", "client_id", "ip", "user_agent", "scope", "idle_expires_at", "absolute_expires_at", "auth_time", "amr", "remember", "login_key")
  select $1, $2, $3, $4, $5, least(now() + make_interval(secs => $6), now() + make_interval(secs => $7)), now() + make_interval(secs => $7), coalesce($12::timestamptz, now()), $13::text[], $14::boolean, $15::bytea
  from "superseded"
  returning *
), "token" as (
  insert into "auth"."refresh_tokens" ("token_hash", "session_id", "parent_hash") select $8::bytea, "id", null from "session"
), "audit" as (
  insert into "auth"."audit_events" ("event", "user_id", "session_id", "ip", "user_agent", "details")
  select 'login_success', "s"."user_id", "s"."id", $9::text, $10::text,
    case when cardinality("x"."ids") = 0 then $11::jsonb else $11::jsonb || jsonb_build_object('superseded_sessions', "x"."ids") end
  from "session" "s", "superseded" "x"
)
select "s".*, "x"."ids" as "superseded_ids" from "session" "s", "superseded" "x"`);

export async function insertSessionWithToken(db: Db, session: NewSession): Promise<InsertedSession> {
  const row = await INSERT_WITH_TOKEN.first(db, [
    session.userId,
    session.clientId,
    session.ip,
    session.userAgent,
    session.scope ?? null,
    session.idleSeconds,
    session.absoluteSeconds,
    session.firstTokenHash,
    session.audit.ip,
    session.audit.userAgent,
    JSON.stringify(session.audit.details),
    session.authTime,
    [...session.amr],
    session.remember,
    session.loginKey,
    session.supersedeSeconds,
  ]);
  if (!row) throw new Error('insert into auth.sessions returned no row');
  return row;
}

// The session of a refresh token (spent or not) in one round trip: logout by cookie and the OAuth
// refresh grant's ownership check run it on every call.
const OF_TOKEN = prepared<SessionRow>('select "s".* from "auth"."refresh_tokens" "t" join "auth"."sessions" "s" on "s"."id" = "t"."session_id" where "t"."token_hash" = $1');

export async function findSessionOfToken(db: Db, tokenHash: Buffer): Promise<SessionRow | undefined> {
  return OF_TOKEN.first(db, [tokenHash]);
}

export async function findSession(db: Db, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('auth.sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The UPDATE that revokes live (not yet revoked) sessions, for the callers below to narrow with their WHERE. */
function revokeLive(db: Db, reason: string) {
  return db.updateTable('auth.sessions').set({ revoked_at: dbNow(), revoked_reason: reason }).where('revoked_at', 'is', null);
}

/** Revokes one session; returns false when it was already revoked or does not exist. */
export async function revokeSessionRow(db: Db, id: string, reason: string): Promise<boolean> {
  const row = await revokeLive(db, reason).where('id', '=', id).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** Revokes every live session of a user (optionally but one); returns the revoked ids. */
export async function revokeUserSessionRows(db: Db, userId: string, reason: string, exceptId?: string): Promise<string[]> {
  let query = revokeLive(db, reason).where('user_id', '=', userId);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

/** Revokes every live session a client holds (its refresh tokens die with them); returns their ids. */
export async function revokeClientSessionRows(db: Db, clientId: string, reason: string): Promise<string[]> {
  const rows = await revokeLive(db, reason).where('client_id', '=', clientId).returning('id').execute();
  return rows.map((row) => row.id);
}

/** Revokes every live session one client holds for one user (a withdrawn consent); returns the ids. */
export async function revokeUserClientSessionRows(db: Db, userId: string, clientId: string, reason: string): Promise<string[]> {
  const rows = await db
    .updateTable('auth.sessions')
    .set({ revoked_at: dbNow(), revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

/** Sessions that can still be refreshed. */
export async function listLiveSessions(db: Db, userId: string): Promise<SessionRow[]> {
  return db
    .selectFrom('auth.sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', dbNow())
    .orderBy('created_at', 'desc')
    .execute();
}

