/** Users repository: plain functions over kysely; callers pass the db or a transaction. */
import { sql } from 'kysely';
import { prepared } from '../db/prepared.js';
import type { Db, NewUser, UserRow } from '../db/schema.js';
import { dbNow } from '../db/sql-time.js';

// Login and rotation read users on every call: prepared once (see prepared.ts).
const BY_EMAIL = prepared<UserRow>('select * from "auth"."users" where "email" = $1');
const BY_ID = prepared<UserRow>('select * from "auth"."users" where "id" = $1');

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return BY_EMAIL.first(db, [email]);
}

export async function findUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return BY_ID.first(db, [id]);
}

/** Inserts a user; returns undefined when the email is already taken (unique constraint, race-proof). */
export async function insertUser(db: Db, user: NewUser): Promise<UserRow | undefined> {
  return db.insertInto('auth.users').values(user).onConflict((oc) => oc.column('email').doNothing()).returningAll().executeTakeFirst();
}

export async function updateUser(db: Db, id: string, changes: { role?: 'user' | 'admin'; disabled?: boolean }): Promise<UserRow | undefined> {
  return db
    .updateTable('auth.users')
    .set({ ...changes, updated_at: dbNow() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function setPasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  await db
    .updateTable('auth.users')
    .set({ password_hash: passwordHash, password_changed_at: dbNow(), updated_at: dbNow() })
    .where('id', '=', id)
    .execute();
}

export async function adminExists(db: Db, exceptId?: string): Promise<boolean> {
  let query = db.selectFrom('auth.users').select('id').where('role', '=', 'admin');
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const row = await query.limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Deletes the user row; the rows that reference it (sessions and their refresh tokens, authorization codes, the second factor) go with it (on delete cascade). */
export async function deleteUserRow(db: Db, id: string): Promise<boolean> {
  const row = await db.deleteFrom('auth.users').where('id', '=', id).returning('id').executeTakeFirst();
  return row !== undefined;
}

/** Row-locks a user for the rest of the transaction (password change vs. concurrent login). */
export async function lockUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('auth.users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Marks the address proven; an earlier proof is kept. */
export async function setEmailVerified(db: Db, id: string): Promise<void> {
  await db
    .updateTable('auth.users')
    .set({ email_verified_at: sql<Date>`coalesce("email_verified_at", now())`, updated_at: dbNow() })
    .where('id', '=', id)
    .execute();
}
