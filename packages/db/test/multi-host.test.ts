import { test } from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { freePort, postgresBinDir, startTemporaryPostgres } from '@keygate/testing';
import { createDatabase } from '../src/index.js';
import { parseMultiHostUrl } from '../src/multi-host.js';

test('parseMultiHostUrl: the libpq failover form, one URL per host', async (t) => {
  t.equal(parseMultiHostUrl('postgres://u:p@db:5432/app?sslmode=disable'), undefined, 'a plain URL is left to pg');
  t.same(parseMultiHostUrl('postgres://u:p@a:5432,b:5433/app?sslmode=disable&target_session_attrs=read-write'), {
    urls: ['postgres://u:p@a:5432/app?sslmode=disable', 'postgres://u:p@b:5433/app?sslmode=disable'],
    targetSessionAttrs: 'read-write',
  });
  t.same(parseMultiHostUrl('postgresql://a,[::1]:6000/app'), { urls: ['postgresql://a/app', 'postgresql://[::1]:6000/app'], targetSessionAttrs: 'any' });
  t.same(parseMultiHostUrl('postgres://u@db/app?target_session_attrs=any'), { urls: ['postgres://u@db/app'], targetSessionAttrs: 'any' });
  t.throws(() => parseMultiHostUrl('postgres://a,b/app?target_session_attrs=standby'), /not supported/, 'an unsupported mode is refused at boot');
  t.throws(() => parseMultiHostUrl('postgres://a,b c/app'), /invalid host/, 'a malformed host list is refused');
});

// Two real clusters, a primary and its streaming standby, where the standby is promoted.
const bin = postgresBinDir();

function asPostgres(command: string, args: string[]): void {
  const argv = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', command, ...args] : [command, ...args];
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr || result.stdout}`);
}

test('a multi-host DATABASE_URL with target_session_attrs=read-write follows a promoted standby', { skip: bin ? false : 'no PostgreSQL server binaries' }, async (t) => {
  const primary = await startTemporaryPostgres();
  if (!primary || !bin) throw new Error('PostgreSQL binaries vanished');
  t.teardown(() => primary.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'keygate-standby-'));
  chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  const dataDir = join(dir, 'data');
  const standbyPort = await freePort();
  asPostgres(join(bin, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream']);
  const pgCtl = (args: string[]) => asPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '30', '-l', join(dir, 'log'), ...args]);
  pgCtl(['-o', `-p ${standbyPort} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  t.teardown(() => {
    try {
      pgCtl(['-m', 'immediate', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The standby first: the pool must skip it for the primary.
  const url = `postgres://postgres@127.0.0.1:${standbyPort},127.0.0.1:${primary.port}/postgres?target_session_attrs=read-write`;
  const handle = await createDatabase({ databaseUrl: url, poolSize: 4, onPoolError: () => {} });
  t.teardown(() => handle.close());
  const port = async () => (await sql<{ port: number }>`select inet_server_port() as port`.execute(handle.db)).rows[0]!.port;
  t.equal(await port(), primary.port, 'the standby listed first is skipped: connected to the primary');
  await sql`create table failover_probe (n int)`.execute(handle.db);
  await sql`insert into failover_probe values (1)`.execute(handle.db);

  // Replication is asynchronous: a primary stopped before its standby has streamed the table
  // takes it along (a CI run under load promoted a standby whose WAL receiver had not connected
  // yet). A switchover waits for the standby to replay the primary's last write, as this does.
  const { lsn } = (await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(handle.db)).rows[0]!;
  const standby = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${standbyPort}/postgres` });
  await standby.connect();
  try {
    const replayedBy = Date.now() + 15_000;
    for (;;) {
      const { rows } = await standby.query<{ caught_up: boolean }>('select coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) as caught_up', [lsn]);
      if (rows[0]!.caught_up) break;
      if (Date.now() > replayedBy) throw new Error(`the standby did not replay ${lsn} within 15 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await standby.end();
  }

  // Failover: the primary stops, the standby is promoted.
  primary.stop();
  pgCtl(['promote']);
  let failed = 0;
  let written = false;
  const deadline = Date.now() + 15_000;
  while (!written && Date.now() < deadline) {
    try {
      await sql`insert into failover_probe values (2)`.execute(handle.db);
      written = true;
    } catch {
      failed += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  t.ok(written, `writes resume on the promoted standby (${failed} failed attempts first)`);
  t.ok(failed <= 4, 'only queries on the old primary\'s pooled connections fail');
  t.equal(await port(), standbyPort, 'connected to the promoted standby');
  const rows = await sql<{ n: number }>`select n from failover_probe order by n`.execute(handle.db);
  t.same(rows.rows.map((row) => row.n), [1, 2], 'the row written before the switch is there (replicated), and the new one');
});
