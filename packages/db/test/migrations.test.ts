import { test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { createTestDatabase, realDatabaseUrl, tempDir } from '@keygate/testing';
import { allMigrationOwners, createDatabase, runMigrations, MigrationError } from '../src/index.js';

const repoRoot = resolve(import.meta.dirname, '../../..');

/** Tables and columns of every non-system schema, as one comparable list. */
async function describeSchema(db: Parameters<typeof runMigrations>[0]): Promise<string[]> {
  const result = await sql<{ line: string }>`
    select table_schema || '.' || table_name || '.' || column_name || ':' || data_type || ':' || is_nullable || ':' || coalesce(column_default, '') as line
    from information_schema.columns
    where table_schema not in ('pg_catalog', 'information_schema')
    order by 1`.execute(db);
  const indexes = await sql<{ line: string }>`
    select schemaname || '.' || indexname || ':' || indexdef as line from pg_indexes
    where schemaname not in ('pg_catalog', 'information_schema') order by 1`.execute(db);
  return [...result.rows.map((r) => r.line), ...indexes.rows.map((r) => r.line)];
}

test('every service migration applies to PGlite and to real PostgreSQL with the same resulting schema', async (t) => {
  const owners = allMigrationOwners();
  t.ok(owners.length >= 3, `owners: ${owners.join(', ')}`);
  const embedded = await createDatabase({});
  t.teardown(() => embedded.close());
  const first = await runMigrations(embedded.db, owners);
  t.ok(first.applied.length >= owners.length, 'applied every file');
  t.same((await runMigrations(embedded.db, owners)).applied, [], 'second run is a no-op');
  const embeddedSchema = await describeSchema(embedded.db);

  await t.test('real PostgreSQL ends with the same schema', { skip: realDatabaseUrl ? false : 'needs DATABASE_URL' }, async (t) => {
    const target = await createTestDatabase();
    t.teardown(() => target.drop());
    const real = await createDatabase({ databaseUrl: target.url });
    t.teardown(() => real.close());
    await runMigrations(real.db, owners);
    t.same(await describeSchema(real.db), embeddedSchema, 'same tables, columns, defaults and indexes');
  });
});

test(
  'two processes migrating one database at once apply each migration exactly once',
  { skip: realDatabaseUrl ? false : 'needs DATABASE_URL (PGlite is single-process by design)' },
  async (t) => {
    const target = await createTestDatabase();
    t.teardown(() => target.drop());
    const cli = join(repoRoot, 'packages/db/dist/cli.js');
    const runOne = () =>
      new Promise<{ code: number | null; out: string }>((done) => {
        const child = spawn(process.execPath, [cli], { env: { ...process.env, DATABASE_URL: target.url! } });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (code) => done({ code, out }));
      });
    const [a, b] = await Promise.all([runOne(), runOne()]);
    t.equal(a.code, 0, a.out);
    t.equal(b.code, 0, b.out);
    const outputs = [a.out, b.out].sort();
    t.match(outputs.join('\n'), /migrations applied: /, 'one of them applied');
    const db = await createDatabase({ databaseUrl: target.url });
    t.teardown(() => db.close());
    const rows = await sql<{ owner: string; name: string; n: number }>`
    select owner, name, count(*)::int as n from public.schema_migrations group by owner, name`.execute(db.db);
    t.ok(rows.rows.length > 0);
    t.ok(
      rows.rows.every((r) => r.n === 1),
      'no migration recorded twice',
    );
  },
);

test('a failing migration rolls back and an applied one may not change', async (t) => {
  const dir = tempDir();
  t.teardown(() => dir.remove());
  mkdirSync(join(dir.path, 'demo'));
  writeFileSync(join(dir.path, 'demo', '0001_init.sql'), 'create schema demo; create table demo.items (id int primary key);');
  writeFileSync(join(dir.path, 'demo', '0002_broken.sql'), 'create table demo.other (id int); insert into demo.nope values (1);');
  const target = await createTestDatabase();
  t.teardown(() => target.drop());
  const handle = await createDatabase({ databaseUrl: target.url });
  t.teardown(() => handle.close());
  await t.rejects(runMigrations(handle.db, ['demo'], dir.path), MigrationError);
  const tables = await sql<{
    table_name: string;
  }>`select table_name from information_schema.tables where table_schema = 'demo' order by 1`.execute(handle.db);
  t.same(
    tables.rows.map((r) => r.table_name),
    ['items'],
    'the broken migration left nothing behind',
  );
  writeFileSync(join(dir.path, 'demo', '0002_broken.sql'), 'create table demo.other (id int);');
  t.same((await runMigrations(handle.db, ['demo'], dir.path)).applied, ['demo/0002_broken.sql']);
  writeFileSync(join(dir.path, 'demo', '0001_init.sql'), 'create schema demo; create table demo.items (id bigint primary key);');
  await t.rejects(runMigrations(handle.db, ['demo'], dir.path), /was changed after it was applied/);
});

test('PGlite data persists under DATA_DIR across reopen', async (t) => {
  const dir = tempDir();
  t.teardown(() => dir.remove());
  const first = await createDatabase({ dataDir: dir.path });
  await sql`create table kept (v text)`.execute(first.db);
  await sql`insert into kept values ('still here')`.execute(first.db);
  await first.close();
  const second = await createDatabase({ dataDir: dir.path });
  t.teardown(() => second.close());
  const rows = await sql<{ v: string }>`select v from kept`.execute(second.db);
  t.same(rows.rows, [{ v: 'still here' }]);
});
