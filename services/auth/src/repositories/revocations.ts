/** Reads of the revocations PostgreSQL holds, for re-announcing them to the gateways. */
import { sql, type Kysely } from 'kysely';
import type { AuthDatabase } from './schema.js';

export interface RecentRevocation {
  type: 'session' | 'token';
  id: string;
  /** The latest moment a token of it could still be valid, epoch ms. */
  untilMs: number;
}

/**
 * Sessions revoked within the last `windowSeconds` (older ones have no live access token left)
 * and access tokens revoked by jti that have not expired yet.
 */
export async function recentRevocations(db: Kysely<AuthDatabase>, windowSeconds: number, skewSeconds: number): Promise<RecentRevocation[]> {
  const sessions = await db
    .selectFrom('auth.sessions')
    .select(['id', 'revoked_at'])
    .where('revoked_at', '>=', sql<Date>`now() - make_interval(secs => ${windowSeconds})`)
    .execute();
  const tokens = await db.selectFrom('auth.revoked_access_tokens').select(['jti', 'expires_at']).where('expires_at', '>', sql<Date>`now()`).execute();
  return [
    ...sessions.map((row) => ({ type: 'session' as const, id: row.id, untilMs: new Date(row.revoked_at!).getTime() + windowSeconds * 1000 })),
    ...tokens.map((row) => ({ type: 'token' as const, id: row.jti, untilMs: new Date(row.expires_at).getTime() + skewSeconds * 1000 })),
  ];
}
