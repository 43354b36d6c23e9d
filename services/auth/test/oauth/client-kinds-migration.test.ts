// Migration 0004 on a database that already holds clients and sessions made under 0001-0003:
// what existing clients and live sessions become when clients gain first-party/third-party kinds.
import { test } from 'tap';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { createDatabase, runMigrations, DEFAULT_MIGRATIONS_DIR } from '@keygate/db';
import { firstPartySessionScope } from '@keygate/tokens';
import { createTestDatabase, tempDir } from '@keygate/testing';
import type { AuthDatabase } from '../../src/db/schema.js';

const BEFORE = ['0001_init.sql', '0002_oauth_clients.sql', '0003_revoked_sessions_index.sql'];

test('0004 keeps keygate-web first-party, makes every other client third-party, and scopes live sessions', async (t) => {
  const dir = tempDir('keygate-migrations-');
  t.teardown(() => dir.remove());
  mkdirSync(join(dir.path, 'auth'));
  for (const name of BEFORE) copyFileSync(join(DEFAULT_MIGRATIONS_DIR, 'auth', name), join(dir.path, 'auth', name));
  const target = await createTestDatabase();
  t.teardown(() => target.drop());
  const handle = await createDatabase<AuthDatabase>({ databaseUrl: target.url });
  t.teardown(() => handle.close());
  // Untyped: the rows are written as they were before 0004 (no first_party column yet).
  const db = handle.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  await runMigrations(db, ['auth'], dir.path);

  const users = await sql<{ id: string; role: string }>`insert into auth.users (email, password_hash, role) values
    ('user@example.com', 'x', 'user'), ('admin@example.com', 'x', 'admin') returning id, role`.execute(db);
  const userId = users.rows.find((u) => u.role === 'user')!.id;
  const adminId = users.rows.find((u) => u.role === 'admin')!.id;
  await sql`insert into auth.oauth_clients (id, name, public, grant_types, scopes) values
    ('old-spa', 'old spa', true, array['password', 'refresh_token'], array['admin', 'orders:read', 'account'])`.execute(db);
  const session = async (userIdOf: string, clientId: string, scope: string | null, revoked = false) =>
    (
      await sql<{ id: string }>`insert into auth.sessions (user_id, client_id, scope, idle_expires_at, absolute_expires_at, revoked_at)
        values (${userIdOf}, ${clientId}, ${scope}, now() + interval '1 day', now() + interval '2 days', ${revoked ? new Date() : null}) returning id`.execute(db)
    ).rows[0]!.id;
  const webUser = await session(userId, 'keygate-web', null);
  const webAdmin = await session(adminId, 'keygate-web', null);
  const webRevoked = await session(userId, 'keygate-web', null, true);
  const thirdParty = await session(adminId, 'old-spa', 'admin orders:read');
  const thirdPartyAccountOnly = await session(userId, 'old-spa', 'account');

  copyFileSync(join(DEFAULT_MIGRATIONS_DIR, 'auth', '0004_client_kinds.sql'), join(dir.path, 'auth', '0004_client_kinds.sql'));
  t.same((await runMigrations(db, ['auth'], dir.path)).applied, ['auth/0004_client_kinds.sql']);

  const clients = await handle.db.selectFrom('auth.oauth_clients').select(['id', 'first_party', 'introspect', 'grant_types', 'scopes']).orderBy('id').execute();
  t.same(clients, [
    { id: 'keygate-web', first_party: true, introspect: false, grant_types: ['password', 'refresh_token'], scopes: ['account', 'orders:read', 'orders:write', 'notifications:read', 'notifications:write', 'admin'] },
    { id: 'old-spa', first_party: false, introspect: false, grant_types: ['refresh_token'], scopes: ['orders:read'] },
  ], 'the old password client loses the grant and the first-party scopes');

  const scopeOf = async (id: string) => (await handle.db.selectFrom('auth.sessions').select('scope').where('id', '=', id).executeTakeFirstOrThrow()).scope;
  t.equal(await scopeOf(webUser), firstPartySessionScope('user'), "a user's web session: what a login grants a user");
  t.same((await scopeOf(webAdmin))?.split(' ').sort(), firstPartySessionScope('admin').split(' ').sort(), "an admin's: with admin");
  t.equal(await scopeOf(webRevoked), null, 'revoked sessions are left alone');
  t.equal(await scopeOf(thirdParty), 'orders:read', 'a third-party session loses admin');
  t.equal(await scopeOf(thirdPartyAccountOnly), null, 'and account, leaving nothing');

  // The new rules hold in the database itself.
  await t.rejects(sql`insert into auth.oauth_clients (id, name, public, grant_types) values ('pw', 'pw', true, array['password'])`.execute(db), 'no third-party password client');
  await t.rejects(sql`insert into auth.oauth_clients (id, name, public, grant_types, scopes) values ('adm', 'adm', true, array['refresh_token'], array['account'])`.execute(db), 'no third-party account scope');
  await sql`insert into auth.oauth_clients (id, name, public, grant_types, scopes, first_party) values ('own', 'own', true, array['password'], array['admin'], true)`.execute(db);
  t.pass('a first-party client may have both');
});
