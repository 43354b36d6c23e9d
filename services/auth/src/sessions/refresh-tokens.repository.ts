/** Refresh-token repository: SHA-256 hashes only, chained by parent_hash within a session. */
import { sql } from 'kysely';
import { prepared } from '../db/prepared.js';
import type { Db, RefreshTokenRow } from '../db/schema.js';

// The rotation's statements, prepared once (see prepared.ts).
const INSERT = prepared('insert into "auth"."refresh_tokens" ("token_hash", "session_id", "parent_hash") values ($1, $2, $3)');
const FIND = prepared<RefreshTokenRow>('select * from "auth"."refresh_tokens" where "token_hash" = $1');
const SPEND = prepared<{ token_hash: Buffer }>(
  'update "auth"."refresh_tokens" set "spent_at" = now(), "successor_hash" = $1, "successor_sealed" = $2 where "token_hash" = $3 and "spent_at" is null returning "token_hash"',
);
const CLEAR_SEALED = prepared('update "auth"."refresh_tokens" set "successor_sealed" = $1 where "token_hash" = $2 and "successor_sealed" is not null');

export async function insertRefreshToken(db: Db, row: { tokenHash: Buffer; sessionId: string; parentHash: Buffer | null }): Promise<void> {
  await INSERT.run(db, [row.tokenHash, row.sessionId, row.parentHash]);
}

export async function findRefreshToken(db: Db, tokenHash: Buffer): Promise<RefreshTokenRow | undefined> {
  return FIND.first(db, [tokenHash]);
}

/** Spends a live token, recording its successor; false if it was already spent. */
export async function spendRefreshToken(db: Db, tokenHash: Buffer, successorHash: Buffer, successorSealed: string | null): Promise<boolean> {
  return (await SPEND.first(db, [successorHash, successorSealed, tokenHash])) !== undefined;
}

/** Forgets a sealed successor (its grace window is over). */
export async function clearSealedSuccessor(db: Db, tokenHash: Buffer): Promise<void> {
  await CLEAR_SEALED.run(db, [null, tokenHash]);
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
