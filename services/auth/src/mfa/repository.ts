/** The TOTP factor, recovery codes and two-step login tokens (migration 0008). Only mfa/service.ts calls it. */
import { sql } from 'kysely';
import type { Db, MfaTotpRow } from '../db/schema.js';
import { dbNow, dbNowPlus } from '../db/sql-time.js';

/**
 * Starts (or restarts) an enrolment with a new sealed secret. A confirmed factor is never
 * replaced here: the update's condition fails and nothing is returned.
 */
export async function upsertPendingTotp(db: Db, userId: string, secretSealed: string): Promise<boolean> {
  const row = await db
    .insertInto('auth.mfa_totp')
    .values({ user_id: userId, secret_sealed: secretSealed })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet({ secret_sealed: secretSealed, created_at: sql<Date>`now()`, last_used_step: null })
        .where('auth.mfa_totp.confirmed_at', 'is', null),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export function findTotp(db: Db, userId: string): Promise<MfaTotpRow | undefined> {
  return db.selectFrom('auth.mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

export async function hasConfirmedTotp(db: Db, userId: string): Promise<boolean> {
  const row = await db.selectFrom('auth.mfa_totp').select('user_id').where('user_id', '=', userId).where('confirmed_at', 'is not', null).executeTakeFirst();
  return row !== undefined;
}

/**
 * Records `step` as the last accepted one, atomically refusing a step not later than the stored
 * one (a replayed code, or a concurrent request with the same code); `confirm` also marks a
 * pending factor confirmed. False when refused.
 */
export async function acceptStep(db: Db, userId: string, step: number, options: { confirm: boolean }): Promise<boolean> {
  let query = db
    .updateTable('auth.mfa_totp')
    .set({ last_used_step: step, confirmed_at: sql<Date>`coalesce("confirmed_at", now())` })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', String(step))]));
  query = options.confirm ? query.where('confirmed_at', 'is', null) : query.where('confirmed_at', 'is not', null);
  const row = await query.returning('user_id').executeTakeFirst();
  return row !== undefined;
}

export async function replaceRecoveryCodes(db: Db, userId: string, hashes: readonly Buffer[]): Promise<void> {
  await db.deleteFrom('auth.mfa_recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('auth.mfa_recovery_codes')
    .values(hashes.map((code_hash) => ({ user_id: userId, code_hash })))
    .execute();
}

/** Spends an unused recovery code; false when it is unknown or already used. */
export async function spendRecoveryCode(db: Db, userId: string, hash: Buffer): Promise<boolean> {
  const row = await db
    .updateTable('auth.mfa_recovery_codes')
    .set({ used_at: dbNow() })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hash)
    .where('used_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function countUnusedRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('auth.mfa_recovery_codes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Removes the factor, its recovery codes and pending login tokens; false when there was no factor. */
export async function deleteMfa(db: Db, userId: string): Promise<boolean> {
  await db.deleteFrom('auth.mfa_recovery_codes').where('user_id', '=', userId).execute();
  await db.deleteFrom('auth.mfa_login_tokens').where('user_id', '=', userId).execute();
  const row = await db.deleteFrom('auth.mfa_totp').where('user_id', '=', userId).returning('confirmed_at').executeTakeFirst();
  return row !== undefined && row.confirmed_at !== null;
}

export async function insertLoginToken(db: Db, tokenHash: Buffer, userId: string, remember: boolean, ttlSeconds: number): Promise<void> {
  await db.insertInto('auth.mfa_login_tokens').values({ token_hash: tokenHash, user_id: userId, remember, expires_at: dbNowPlus(ttlSeconds) }).execute();
}

/** The user a live (unused, unexpired) login token names, without spending it. */
export async function findLiveLoginToken(db: Db, tokenHash: Buffer): Promise<{ user_id: string; remember: boolean } | undefined> {
  return db
    .selectFrom('auth.mfa_login_tokens')
    .select(['user_id', 'remember'])
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', dbNow())
    .executeTakeFirst();
}

/** Spends a live login token (once: a concurrent second spend finds it used). */
export async function spendLoginToken(db: Db, tokenHash: Buffer): Promise<{ user_id: string; remember: boolean } | undefined> {
  return db
    .updateTable('auth.mfa_login_tokens')
    .set({ used_at: dbNow() })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', dbNow())
    .returning(['user_id', 'remember'])
    .executeTakeFirst();
}

/** Forgets login tokens an hour past their expiry (the purge task). */
export async function purgeLoginTokens(db: Db): Promise<void> {
  await db.deleteFrom('auth.mfa_login_tokens').where('expires_at', '<', sql<Date>`now() - interval '1 hour'`).execute();
}
