/** Refresh-token repository: SHA-256 hashes only, chained by parent_hash within a session. */
import { sql } from 'kysely';
import type { Db, RefreshTokenRow } from './schema.js';
import { dbNow } from './sql-time.js';

export async function insertRefreshToken(db: Db, row: { tokenHash: Buffer; sessionId: string; parentHash: Buffer | null }): Promise<void> {
  await db.insertInto('auth.refresh_tokens').values({ token_hash: row.tokenHash, session_id: row.sessionId, parent_hash: row.parentHash }).execute();
}

export async function findRefreshToken(db: Db, tokenHash: Buffer): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('auth.refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Spends a live token, recording its successor; false if it was already spent. */
export async function spendRefreshToken(db: Db, tokenHash: Buffer, successorHash: Buffer, successorSealed: string | null): Promise<boolean> {
  const row = await db
    .updateTable('auth.refresh_tokens')
    .set({ spent_at: dbNow(), successor_hash: successorHash, successor_sealed: successorSealed })
    .where('token_hash', '=', tokenHash)
    .where('spent_at', 'is', null)
    .returning('token_hash')
    .executeTakeFirst();
  return row !== undefined;
}

/** Forgets a sealed successor (its grace window is over). */
export async function clearSealedSuccessor(db: Db, tokenHash: Buffer): Promise<void> {
  await db.updateTable('auth.refresh_tokens').set({ successor_sealed: null }).where('token_hash', '=', tokenHash).where('successor_sealed', 'is not', null).execute();
}

/** Clears every sealed successor older than the grace window; returns how many. */
export async function purgeSealedSuccessors(db: Db, graceSeconds: number): Promise<number> {
  const result = await db
    .updateTable('auth.refresh_tokens')
    .set({ successor_sealed: null })
    .where('successor_sealed', 'is not', null)
    .where(sql<boolean>`spent_at < now() - make_interval(secs => ${graceSeconds})`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
