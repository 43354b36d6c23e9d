/** Authorization codes (by SHA-256 only) and single revoked access tokens. */
import { sql } from 'kysely';
import type { AuthorizationCodeRow, Db } from '../db/schema.js';
import { dbNow, dbNowPlus } from '../db/sql-time.js';

export interface NewAuthorizationCode {
  codeHash: Buffer;
  clientId: string;
  userId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string | null;
  /** The OIDC nonce of the request, for the ID token. */
  nonce: string | null;
  /** When the sign-in form checked the password: the session's auth_time. */
  authTime: Date;
  /** How the user signed in (`pwd`, `otp`): carried to the session the exchange starts. */
  amr: readonly string[];
  ttlSeconds: number;
}

export async function insertAuthorizationCode(db: Db, code: NewAuthorizationCode): Promise<void> {
  await db
    .insertInto('auth.authorization_codes')
    .values({
      code_hash: code.codeHash,
      client_id: code.clientId,
      user_id: code.userId,
      redirect_uri: code.redirectUri,
      code_challenge: code.codeChallenge,
      scope: code.scope,
      nonce: code.nonce,
      auth_time: code.authTime,
      amr: [...code.amr],
      expires_at: dbNowPlus(code.ttlSeconds),
    })
    .execute();
}

export type LockedAuthorizationCode = AuthorizationCodeRow & { expired: boolean };

/** `select … for update`: a concurrent exchange of the same code waits until this one commits. */
export async function lockAuthorizationCode(db: Db, codeHash: Buffer): Promise<LockedAuthorizationCode | undefined> {
  return db
    .selectFrom('auth.authorization_codes')
    .selectAll()
    .select(sql<boolean>`expires_at <= now()`.as('expired'))
    .where('code_hash', '=', codeHash)
    .forUpdate()
    .executeTakeFirst();
}

export async function markAuthorizationCodeUsed(db: Db, codeHash: Buffer, sessionId: string | null): Promise<void> {
  await db.updateTable('auth.authorization_codes').set({ used_at: dbNow(), session_id: sessionId }).where('code_hash', '=', codeHash).execute();
}

/** Deletes codes expired for longer than `graceSeconds` (kept a while so a late replay still revokes). */
export async function purgeAuthorizationCodes(db: Db, graceSeconds: number): Promise<void> {
  await db.deleteFrom('auth.authorization_codes').where('expires_at', '<', dbNowPlus(-graceSeconds)).execute();
}
