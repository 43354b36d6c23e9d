/** The revocations PostgreSQL holds: written with the change they announce, read to re-announce them. */
import { sql, type Kysely } from 'kysely';
import type { AuthDatabase, Db } from '../db/schema.js';
import { dbNow, dbNowPlus } from '../db/sql-time.js';

/** One revocation as the gateways are told of it (docs/decisions.md, "Revocation kinds"). */
export interface RevocationRecord {
  type: 'session' | 'token' | 'client' | 'key';
  id: string;
  /** The latest moment a token it covers could still be valid, epoch ms. */
  untilMs: number;
}

export interface RevocationWindows {
  /** ACCESS_TOKEN_TTL + skew: how long a session's or client's tokens outlive its revocation. */
  windowSeconds: number;
  skewSeconds: number;
  /** How long a revoked key's tokens must be refused (it may have signed until every instance reloaded). */
  keyWindowSeconds: number;
}

/**
 * Records a deleted client's revocation (in the delete's transaction): its tokens are refused
 * until `windowSeconds` from now. Returns that moment, epoch ms.
 */
export async function insertRevokedClient(db: Db, clientId: string, windowSeconds: number): Promise<number> {
  const row = await db
    .insertInto('auth.revoked_clients')
    .values({ client_id: clientId, revoked_until: dbNowPlus(windowSeconds) })
    .onConflict((oc) => oc.column('client_id').doUpdateSet({ revoked_at: sql<Date>`now()`, revoked_until: (eb) => eb.ref('excluded.revoked_until') }))
    .returning('revoked_until')
    .executeTakeFirstOrThrow();
  return new Date(row.revoked_until).getTime();
}

/**
 * Every revocation that can still matter: sessions revoked within the last `windowSeconds` (older
 * ones have no live access token left), access tokens revoked by jti that have not expired yet,
 * deleted clients within their window, and keys revoked within `keyWindowSeconds`.
 */
export async function recentRevocations(db: Kysely<AuthDatabase>, windows: RevocationWindows): Promise<RevocationRecord[]> {
  const { windowSeconds, skewSeconds, keyWindowSeconds } = windows;
  const sessions = await db
    .selectFrom('auth.sessions')
    .select(['id', 'revoked_at'])
    .where('revoked_at', '>=', sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
    .execute();
  const tokens = await db.selectFrom('auth.revoked_access_tokens').select(['jti', 'expires_at']).where('expires_at', '>', sql<Date>`now()`).execute();
  const clients = await db.selectFrom('auth.revoked_clients').select(['client_id', 'revoked_until']).where('revoked_until', '>', sql<Date>`now()`).execute();
  // Sessions of deleted accounts: their rows went with the user row (migration 0008).
  const deleted = await db
    .selectFrom('auth.deleted_account_sessions')
    .select(['session_id', 'revoked_at'])
    .where('revoked_at', '>=', sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
    .execute();
  const keys = await db
    .selectFrom('auth.signing_keys')
    .select(['kid', 'revoked_at'])
    .where('revoked_at', '>=', sql<Date>`now() - make_interval(secs => ${keyWindowSeconds})`)
    .execute();
  return [
    ...sessions.map((row) => ({ type: 'session' as const, id: row.id, untilMs: new Date(row.revoked_at!).getTime() + windowSeconds * 1000 })),
    ...deleted.map((row) => ({ type: 'session' as const, id: row.session_id, untilMs: new Date(row.revoked_at).getTime() + windowSeconds * 1000 })),
    ...tokens.map((row) => ({ type: 'token' as const, id: row.jti, untilMs: new Date(row.expires_at).getTime() + skewSeconds * 1000 })),
    ...clients.map((row) => ({ type: 'client' as const, id: row.client_id, untilMs: new Date(row.revoked_until).getTime() })),
    ...keys.map((row) => ({ type: 'key' as const, id: row.kid, untilMs: new Date(row.revoked_at!).getTime() + keyWindowSeconds * 1000 })),
  ];
}

export async function insertRevokedAccessToken(db: Db, jti: string, expiresAtMs: number): Promise<void> {
  await db
    .insertInto('auth.revoked_access_tokens')
    .values({ jti, expires_at: new Date(expiresAtMs) })
    .onConflict((oc) => oc.column('jti').doNothing())
    .execute();
}

export async function isAccessTokenRevoked(db: Db, jti: string): Promise<boolean> {
  const row = await db.selectFrom('auth.revoked_access_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
  return row !== undefined;
}

/** Deletes access-token revocations whose token has expired (nothing left to refuse). */
export async function purgeExpiredTokenRevocations(db: Db): Promise<void> {
  await db.deleteFrom('auth.revoked_access_tokens').where('expires_at', '<', dbNow()).execute();
  // Two days are longer than any ACCESS_TOKEN_TTL (at most a day) plus skew: no token of these is left.
  await db.deleteFrom('auth.deleted_account_sessions').where('revoked_at', '<', sql<Date>`now() - interval '2 days'`).execute();
}

/**
 * Keeps the revocations of a user's sessions that can still matter (revoked within `windowSeconds`)
 * before the user row, and with it the session rows, is deleted.
 */
export async function insertDeletedAccountSessions(db: Db, userId: string, windowSeconds: number): Promise<void> {
  await db
    .insertInto('auth.deleted_account_sessions')
    .columns(['session_id', 'revoked_at'])
    .expression((eb) =>
      eb
        .selectFrom('auth.sessions')
        .select(['id', 'revoked_at'])
        .where('user_id', '=', userId)
        .where('revoked_at', '>=', sql<Date>`now() - make_interval(secs => ${windowSeconds})`),
    )
    .onConflict((oc) => oc.column('session_id').doNothing())
    .execute();
}
