/** Refresh-token repository: SHA-256 hashes only, chained by parent_hash within a session. */
import { sql } from 'kysely';
import { prepared } from '../db/prepared.js';
import type { Db, RefreshTokenRow, SessionRow, UserRow } from '../db/schema.js';

const FIND = prepared<RefreshTokenRow>('select * from "auth"."refresh_tokens" where "token_hash" = $1');

export async function findRefreshToken(db: Db, tokenHash: Buffer): Promise<RefreshTokenRow | undefined> {
  return FIND.first(db, [tokenHash]);
}

export type RotationOutcome = 'rotated' | 'grace_retry' | 'unknown_token' | 'wrong_client' | 'session_revoked' | 'session_expired' | 'user_disabled' | 'reuse_detected';

/** The user a rotation vouched for (enabled, owner of the session): what an access token needs. */
export type RotatedUser = Pick<UserRow, 'id' | 'email' | 'role' | 'email_verified_at'>;

/**
 * The session columns a rotation's callers use: the access token's claims (sid, client_id, scope,
 * amr), the cookie's persistence (remember), the ID token's auth_time, and the owner for a refusal.
 */
export type RotatedSession = Pick<SessionRow, 'id' | 'user_id' | 'client_id' | 'scope' | 'amr' | 'remember' | 'auth_time'>;

export interface RotationInput {
  presentedHash: Buffer;
  successorHash: Buffer;
  /** The successor sealed for the grace window; null when REFRESH_GRACE is 0. */
  successorSealed: string | null;
  /** Only a session of this client is rotated; null: any. */
  clientId: string | null;
  idleSeconds: number;
  graceSeconds: number;
  ip: string | null;
  userAgent: string | null;
}

export interface RotationRow {
  outcome: RotationOutcome;
  /** The session after the call; undefined for unknown_token. */
  session: RotatedSession | undefined;
  /** The session's user, when it passed the checks (rotated, grace_retry, reuse_detected). */
  user: RotatedUser | undefined;
  /** grace_retry: the successor handed out before, still sealed. */
  successorSealed: string | null;
}

type RawRotation = { outcome: RotationOutcome; user_email: string | null; user_role: UserRow['role'] | null; user_email_verified_at: Date | null; successor_sealed: string | null } & { [K in keyof RotatedSession]: RotatedSession[K] | null };

// The whole rotation, one statement and one round trip (migration 0009 has the function and why,
// 0010 its current body). A named statement: PostgreSQL parses and plans the call once per
// connection (the function's result type is fixed, so the prepared statement stays valid).
// Only the columns the callers use (12 of the function's 20): every column returned is formatted
// as text by PostgreSQL and described, parsed and copied into the row object by pg on every
// refresh; the five timestamps left out were five Dates parsed per refresh that nothing read.
const ROTATE = prepared<RawRotation>(
  'select "outcome", "id", "user_id", "client_id", "scope", "amr", "remember", "auth_time", "user_email", "user_role", "user_email_verified_at", "successor_sealed" from "auth"."rotate_refresh_token"($1, $2, $3, $4, $5, $6, $7, $8)',
  { name: 'auth_rotate_refresh_token' },
);

export async function rotateInDatabase(db: Db, input: RotationInput): Promise<RotationRow> {
  const raw = (await ROTATE.first(db, [
    input.presentedHash,
    input.successorHash,
    input.successorSealed,
    input.clientId,
    input.idleSeconds,
    input.graceSeconds,
    input.ip,
    input.userAgent,
  ]))!;
  const { outcome, user_email, user_role, user_email_verified_at, successor_sealed, ...session } = raw;
  return {
    outcome,
    session: session.id === null ? undefined : (session as RotatedSession),
    user: user_email === null || user_role === null ? undefined : { id: session.user_id!, email: user_email, role: user_role, email_verified_at: user_email_verified_at },
    successorSealed: successor_sealed,
  };
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
