/** Consents repository: rows of auth.consents (one per user and third-party client). */
import { sql } from 'kysely';
import type { ConsentRow, Db } from '../db/schema.js';
import { dbNow } from '../db/sql-time.js';

export async function findConsent(db: Db, userId: string, clientId: string): Promise<ConsentRow | undefined> {
  return db.selectFrom('auth.consents').selectAll().where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst();
}

/** Records an approval; a second one for the same client adds its scopes to those approved before. */
export async function upsertConsent(db: Db, userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
  await db
    .insertInto('auth.consents')
    .values({ user_id: userId, client_id: clientId, scopes: [...scopes] })
    .onConflict((oc) =>
      oc.columns(['user_id', 'client_id']).doUpdateSet({
        scopes: sql<string[]>`array(select distinct unnest("auth"."consents"."scopes" || excluded."scopes") order by 1)`,
        updated_at: dbNow(),
      }),
    )
    .execute();
}

export interface ConsentWithClient extends ConsentRow {
  client_name: string;
}

export async function listConsentRows(db: Db, userId: string): Promise<ConsentWithClient[]> {
  return db
    .selectFrom('auth.consents as c')
    .innerJoin('auth.oauth_clients as o', 'o.id', 'c.client_id')
    .selectAll('c')
    .select('o.name as client_name')
    .where('c.user_id', '=', userId)
    .orderBy('c.granted_at')
    .orderBy('c.client_id')
    .execute();
}

export async function deleteConsent(db: Db, userId: string, clientId: string): Promise<boolean> {
  const row = await db.deleteFrom('auth.consents').where('user_id', '=', userId).where('client_id', '=', clientId).returning('client_id').executeTakeFirst();
  return row !== undefined;
}
