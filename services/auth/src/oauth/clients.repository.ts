/** OAuth client registry: rows of auth.oauth_clients (secrets by SHA-256 only). */
import type { Db, OAuthClientRow } from '../db/schema.js';
import { dbNow } from '../db/sql-time.js';

export interface NewClient {
  id: string;
  name: string;
  public: boolean;
  secretHash: Buffer | null;
  grantTypes: readonly string[];
  redirectUris: readonly string[];
  scopes: readonly string[];
  firstParty: boolean;
  introspect: boolean;
  postLogoutRedirectUris: readonly string[];
}

export async function insertClient(db: Db, client: NewClient): Promise<OAuthClientRow> {
  return db
    .insertInto('auth.oauth_clients')
    .values({
      id: client.id,
      name: client.name,
      public: client.public,
      secret_hash: client.secretHash,
      grant_types: [...client.grantTypes],
      redirect_uris: [...client.redirectUris],
      scopes: [...client.scopes],
      first_party: client.firstParty,
      introspect: client.introspect,
      post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findClient(db: Db, id: string): Promise<OAuthClientRow | undefined> {
  return db.selectFrom('auth.oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listClients(db: Db): Promise<OAuthClientRow[]> {
  return db.selectFrom('auth.oauth_clients').selectAll().orderBy('created_at').orderBy('id').execute();
}

/** Replaces a confidential client's secret hash; undefined when no such confidential client exists. */
export async function setClientSecretHash(db: Db, id: string, secretHash: Buffer): Promise<OAuthClientRow | undefined> {
  return db
    .updateTable('auth.oauth_clients')
    .set({ secret_hash: secretHash, secret_rotated_at: dbNow() })
    .where('id', '=', id)
    .where('public', '=', false)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteClient(db: Db, id: string): Promise<boolean> {
  const row = await db.deleteFrom('auth.oauth_clients').where('id', '=', id).returning('id').executeTakeFirst();
  return row !== undefined;
}
