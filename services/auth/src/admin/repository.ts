/**
 * Read-only views for administrators: a page of users (GET /admin/users) and, for authctl, every
 * session of a user whatever its state and users filtered by role or disabled flag.
 */
import type { Db, SessionRow, UserRow } from '../db/schema.js';

/** GET /admin/users: one page, oldest first. */
export async function listUsers(db: Db, options: { limit: number; offset: number }): Promise<UserRow[]> {
  return db.selectFrom('auth.users').selectAll().orderBy('created_at').orderBy('id').limit(options.limit).offset(options.offset).execute();
}

/** Newest first, revoked and expired ones included (capped: an operator reads a screenful). */
export async function listSessionsOfUser(db: Db, userId: string, limit = 1_000): Promise<SessionRow[]> {
  return db.selectFrom('auth.sessions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
}

export async function listUsersMatching(db: Db, filter: { role?: 'user' | 'admin'; disabled?: boolean }): Promise<UserRow[]> {
  let query = db.selectFrom('auth.users').selectAll();
  if (filter.role !== undefined) query = query.where('role', '=', filter.role);
  if (filter.disabled !== undefined) query = query.where('disabled', '=', filter.disabled);
  return query.orderBy('created_at').orderBy('id').execute();
}
