/**
 * Signing-key repository. State changes happen under a transaction-scoped advisory lock so that
 * several instances (or the CLI) never create two current keys or promote twice; partial unique
 * indexes back that up.
 */
import { sql } from 'kysely';
import type { Db, SigningKeyRow } from '../db/schema.js';
import { dbNow, dbNowPlus } from '../db/sql-time.js';

/** Arbitrary but fixed: every auth instance and the CLI agree on it. */
const SIGNING_KEYS_LOCK = 74_201_301;

export async function lockSigningKeys(db: Db): Promise<void> {
  await sql`select pg_advisory_xact_lock(${SIGNING_KEYS_LOCK})`.execute(db);
}

export interface NewSigningKey {
  kid: string;
  alg: string;
  state: 'next' | 'current';
  publicJwk: Record<string, unknown>;
  privateKeySealed: string;
  activatesInSeconds: number;
}

export async function insertSigningKey(db: Db, key: NewSigningKey): Promise<SigningKeyRow> {
  return db
    .insertInto('auth.signing_keys')
    .values({
      kid: key.kid,
      alg: key.alg,
      state: key.state,
      public_jwk: JSON.stringify(key.publicJwk),
      private_key_sealed: key.privateKeySealed,
      activates_at: dbNowPlus(key.activatesInSeconds),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Keys that appear in the JWKS (next, current, previous). */
export async function listPublishedKeys(db: Db): Promise<SigningKeyRow[]> {
  return db.selectFrom('auth.signing_keys').selectAll().where('state', 'in', ['next', 'current', 'previous']).orderBy('created_at').execute();
}

export async function listAllKeys(db: Db): Promise<SigningKeyRow[]> {
  return db.selectFrom('auth.signing_keys').selectAll().orderBy('created_at').execute();
}

export async function findKey(db: Db, kid: string): Promise<SigningKeyRow | undefined> {
  return db.selectFrom('auth.signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst();
}

/**
 * A revoked key: retired (never signs, never published again) with `revoked_at` set (an earlier
 * revocation's is kept). Returns the updated row. Caller holds the lock.
 */
export async function markKeyRevoked(db: Db, kid: string): Promise<SigningKeyRow> {
  return db
    .updateTable('auth.signing_keys')
    .set({
      state: 'retired',
      revoked_at: sql<Date>`coalesce(revoked_at, now())`,
      deactivated_at: sql<Date>`coalesce(deactivated_at, now())`,
      retires_at: sql<Date>`least(coalesce(retires_at, now()), now())`,
    })
    .where('kid', '=', kid)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findKeyInState(db: Db, state: SigningKeyRow['state']): Promise<SigningKeyRow | undefined> {
  return db.selectFrom('auth.signing_keys').selectAll().where('state', '=', state).executeTakeFirst();
}

/** True when a next key is due to sign or a previous key is due to retire (cheap, no lock). */
export async function promotionDue(db: Db): Promise<boolean> {
  const row = await db
    .selectFrom('auth.signing_keys')
    .select('kid')
    .where((eb) => eb.or([eb.and([eb('state', '=', 'next'), eb('activates_at', '<=', dbNow())]), eb.and([eb('state', '=', 'previous'), eb('retires_at', '<=', dbNow())])]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** current → previous (retiring after `keepSeconds`), then next → current. Caller holds the lock. */
export async function activateNextKey(db: Db, keepSeconds: number): Promise<{ activated: string; deactivated: string | undefined } | undefined> {
  const next = await db.selectFrom('auth.signing_keys').select('kid').where('state', '=', 'next').where('activates_at', '<=', dbNow()).executeTakeFirst();
  if (!next) return undefined;
  const old = await db
    .updateTable('auth.signing_keys')
    .set({ state: 'previous', deactivated_at: dbNow(), retires_at: dbNowPlus(keepSeconds) })
    .where('state', '=', 'current')
    .returning('kid')
    .executeTakeFirst();
  await db.updateTable('auth.signing_keys').set({ state: 'current' }).where('kid', '=', next.kid).execute();
  return { activated: next.kid, deactivated: old?.kid };
}

/** previous keys whose every token has expired stop being published. Caller holds the lock. */
export async function retireExpiredKeys(db: Db): Promise<string[]> {
  const rows = await db
    .updateTable('auth.signing_keys')
    .set({ state: 'retired' })
    .where('state', '=', 'previous')
    .where('retires_at', '<=', dbNow())
    .returning('kid')
    .execute();
  return rows.map((row) => row.kid);
}
