/** Single-use mailed tokens (migration 0007): only their SHA-256 is stored. */
import type { AccountTokenRow, Db } from '../db/schema.js';
import { dbNow, dbNowPlus } from '../db/sql-time.js';

export type AccountTokenPurpose = AccountTokenRow['purpose'];

export async function insertAccountToken(db: Db, token: { hash: Buffer; userId: string; purpose: AccountTokenPurpose; ttlSeconds: number }): Promise<void> {
  await db
    .insertInto('auth.account_tokens')
    .values({ token_hash: token.hash, user_id: token.userId, purpose: token.purpose, expires_at: dbNowPlus(token.ttlSeconds) })
    .execute();
}

/** The user of a token that is unused and unexpired, without spending it. */
export async function findLiveAccountToken(db: Db, hash: Buffer, purpose: AccountTokenPurpose): Promise<string | undefined> {
  const row = await db
    .selectFrom('auth.account_tokens')
    .select('user_id')
    .where('token_hash', '=', hash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', dbNow())
    .executeTakeFirst();
  return row?.user_id;
}

/** Spends the token if it is unused and unexpired, atomically: of two concurrent spends one wins. */
export async function spendAccountToken(db: Db, hash: Buffer, purpose: AccountTokenPurpose): Promise<string | undefined> {
  const row = await db
    .updateTable('auth.account_tokens')
    .set({ used_at: dbNow() })
    .where('token_hash', '=', hash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', dbNow())
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}

/** Spends every other live token of the user for `purpose` (one reset or verification ends them all). */
export async function spendUserAccountTokens(db: Db, userId: string, purpose: AccountTokenPurpose): Promise<void> {
  await db.updateTable('auth.account_tokens').set({ used_at: dbNow() }).where('user_id', '=', userId).where('purpose', '=', purpose).where('used_at', 'is', null).execute();
}

/** Tokens expired for a day are history: deleted by the periodic purge. */
export async function deleteExpiredAccountTokens(db: Db): Promise<void> {
  await db.deleteFrom('auth.account_tokens').where('expires_at', '<', dbNowPlus(-86_400)).execute();
}
