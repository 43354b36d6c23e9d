/** Sessions repository: one row per login; rotation and revocation lock or update it here. */
import { sql } from 'kysely';
import type { Db, SessionRow } from './schema.js';
import { dbNow, dbNowPlus } from './sql-time.js';

export interface NewSession {
  userId: string;
  clientId: string;
  ip: string | null;
  userAgent: string | null;
  idleSeconds: number;
  absoluteSeconds: number;
  /** The OAuth scope granted at login, carried into every access token of the session. */
  scope?: string | null;
}

export async function insertSession(db: Db, session: NewSession): Promise<SessionRow> {
  return db
    .insertInto('auth.sessions')
    .values({
      user_id: session.userId,
      client_id: session.clientId,
      ip: session.ip,
      user_agent: session.userAgent,
      scope: session.scope ?? null,
      idle_expires_at: sql<Date>`least(now() + make_interval(secs => ${session.idleSeconds}), now() + make_interval(secs => ${session.absoluteSeconds}))`,
      absolute_expires_at: dbNowPlus(session.absoluteSeconds),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export type LockedSession = SessionRow & { db_now: Date };

/** `select … for update`: serialises every rotation of one session; returns the database's now too. */
export async function lockSession(db: Db, id: string): Promise<LockedSession | undefined> {
  return db
    .selectFrom('auth.sessions')
    .selectAll()
    .select(sql<Date>`now()`.as('db_now'))
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function findSession(db: Db, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('auth.sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Marks use and slides the idle expiry, never past the absolute expiry. */
export async function touchSession(db: Db, id: string, idleSeconds: number): Promise<void> {
  await db
    .updateTable('auth.sessions')
    .set({ last_used_at: dbNow(), idle_expires_at: sql<Date>`least(now() + make_interval(secs => ${idleSeconds}), absolute_expires_at)` })
    .where('id', '=', id)
    .execute();
}

/** Revokes one session; returns false when it was already revoked or does not exist. */
export async function revokeSessionRow(db: Db, id: string, reason: string): Promise<boolean> {
  const row = await db
    .updateTable('auth.sessions')
    .set({ revoked_at: dbNow(), revoked_reason: reason })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Revokes every live session of a user (optionally but one); returns the revoked ids. */
export async function revokeUserSessionRows(db: Db, userId: string, reason: string, exceptId?: string): Promise<string[]> {
  let query = db
    .updateTable('auth.sessions')
    .set({ revoked_at: dbNow(), revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const rows = await query.returning('id').execute();
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
