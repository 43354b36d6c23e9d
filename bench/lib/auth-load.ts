/**
 * The limits the auth scenarios are measured against, each run as its own process
 * (`node auth-load.js <json>`): `concurrency` closed loops for `durationSec` after a short
 * warm-up, printing one JSON line: {operations, seconds, rate, p50Ms, p99Ms}. (Login and refresh
 * themselves go through wrk: auth-wrk.ts.)
 *
 *   argon2  raw @node-rs/argon2 verify with the auth service's parameters: the limit for login.
 *   sql     the refresh rotation transaction of services/auth, statement for statement, with pg:
 *           the limit for refresh.
 *
 * Every failed operation aborts the run: a fast failure must never count as throughput.
 */
import { createHash, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { hash, verify, type Options } from '@node-rs/argon2';
import pg from 'pg';
import { percentile } from './stats.js';

export interface LoadSpec {
  mode: 'argon2' | 'sql';
  concurrency: number;
  durationSec: number;
  warmupSec: number;
  /** sql: the users whose sessions are rotated (one per loop). */
  users?: { email: string; password: string }[];
  /** sql: the auth service's database. */
  databaseUrl?: string;
  /** argon2: where services/auth's compiled passwords module lives. */
  authPasswordsModule?: string;
}

export interface LoadResult {
  operations: number;
  seconds: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** argon2 mode: where the parameters came from. */
  parameters?: { source: 'imported' | 'copied'; options: Options };
}

/** The numbers of services/auth/src/accounts/passwords.ts, used only if that module cannot be imported. */
const COPIED_ARGON2_OPTIONS: Options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Runs `concurrency` closed loops of `operation` through a warm-up and the measured window; counts
 * the operations that complete inside the window, and their latencies.
 */
async function closedLoops(spec: LoadSpec, operation: (loop: number) => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  const windowStart = performance.now() + spec.warmupSec * 1000;
  const windowEnd = windowStart + spec.durationSec * 1000;
  const loop = async (index: number): Promise<void> => {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      await operation(index);
      const finished = performance.now();
      if (finished >= windowStart && finished <= windowEnd) latencies.push(finished - started);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => loop(i)));
  const seconds = spec.durationSec;
  latencies.sort((a, b) => a - b);
  return { operations: latencies.length, seconds, rate: latencies.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

async function argon2Options(modulePath: string | undefined): Promise<{ source: 'imported' | 'copied'; options: Options }> {
  if (modulePath) {
    try {
      const module = (await import(pathToFileURL(resolve(modulePath)).href)) as { ARGON2_OPTIONS?: Options };
      if (module.ARGON2_OPTIONS) return { source: 'imported', options: module.ARGON2_OPTIONS };
    } catch {
      // fall through to the copied numbers, and say so in the result
    }
  }
  return { source: 'copied', options: COPIED_ARGON2_OPTIONS };
}

async function runArgon2(spec: LoadSpec): Promise<LoadResult> {
  const parameters = await argon2Options(spec.authPasswordsModule);
  const password = 'correct horse battery staple';
  const stored = await hash(password, parameters.options);
  const result = await closedLoops(spec, async () => {
    if (!(await verify(stored, password))) throw new Error('argon2 verify failed');
  });
  return { ...result, parameters };
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
const newToken = (): string => randomBytes(32).toString('base64url');

/**
 * services/auth rotateRefreshToken's transaction (src/domain/sessions.ts with the repositories in
 * src/repositories/), one statement per kysely call, same order, parameters and locking. The
 * sealed successor (an AES-GCM box in the service) is a random string of the same length here.
 */
async function rotateDirect(client: pg.PoolClient, presented: string, idleSeconds: number): Promise<string> {
  const presentedHash = sha256(presented);
  await client.query('begin');
  try {
    const probe = await client.query('select * from "auth"."refresh_tokens" where "token_hash" = $1', [presentedHash]);
    const sessionId = probe.rows[0]?.session_id as string | undefined;
    if (!sessionId) throw new Error('unknown refresh token');
    const session = await client.query('select *, now() as "db_now" from "auth"."sessions" where "id" = $1 for update', [sessionId]);
    const row = session.rows[0] as { user_id: string; revoked_at: Date | null } | undefined;
    if (!row || row.revoked_at !== null) throw new Error('session not live');
    const user = await client.query('select * from "auth"."users" where "id" = $1', [row.user_id]);
    if (user.rows.length !== 1) throw new Error('user gone');
    const token = await client.query('select * from "auth"."refresh_tokens" where "token_hash" = $1', [presentedHash]);
    const tokenRow = token.rows[0] as { spent_at: Date | null; parent_hash: Buffer | null };
    if (tokenRow.spent_at !== null) throw new Error('token already spent');
    const successor = newToken();
    const successorHash = sha256(successor);
    const sealed = randomBytes(72).toString('base64url');
    await client.query(
      'update "auth"."refresh_tokens" set "spent_at" = now(), "successor_hash" = $1, "successor_sealed" = $2 where "token_hash" = $3 and "spent_at" is null returning "token_hash"',
      [successorHash, sealed, presentedHash],
    );
    await client.query('insert into "auth"."refresh_tokens" ("token_hash", "session_id", "parent_hash") values ($1, $2, $3)', [successorHash, sessionId, presentedHash]);
    if (tokenRow.parent_hash !== null) {
      await client.query('update "auth"."refresh_tokens" set "successor_sealed" = $1 where "token_hash" = $2 and "successor_sealed" is not null', [null, tokenRow.parent_hash]);
    }
    await client.query('update "auth"."sessions" set "last_used_at" = now(), "idle_expires_at" = least(now() + make_interval(secs => $1), absolute_expires_at) where "id" = $2', [
      idleSeconds,
      sessionId,
    ]);
    await client.query('insert into "auth"."audit_events" ("event", "user_id", "session_id", "ip", "user_agent", "details") values ($1, $2, $3, $4, $5, $6)', [
      'refresh',
      row.user_id,
      sessionId,
      '127.0.0.1',
      'bench',
      '{}',
    ]);
    await client.query('commit');
    return successor;
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

async function runSql(spec: LoadSpec): Promise<LoadResult> {
  const idleSeconds = 7 * 86_400;
  const pool = new pg.Pool({ connectionString: spec.databaseUrl, max: spec.concurrency });
  try {
    const users = spec.users!;
    const heads: string[] = [];
    for (let i = 0; i < spec.concurrency; i++) {
      const email = users[i % users.length]!.email;
      const user = await pool.query('select id from auth.users where email = $1', [email]);
      const userId = user.rows[0]?.id as string | undefined;
      if (!userId) throw new Error(`no user ${email}`);
      const session = await pool.query(
        `insert into auth.sessions (user_id, client_id, ip, user_agent, idle_expires_at, absolute_expires_at)
         values ($1, 'first-party', '127.0.0.1', 'bench', now() + interval '7 days', now() + interval '30 days') returning id`,
        [userId],
      );
      const token = newToken();
      await pool.query('insert into auth.refresh_tokens (token_hash, session_id, parent_hash) values ($1, $2, null)', [sha256(token), session.rows[0].id]);
      heads.push(token);
    }
    const clients = await Promise.all(heads.map(() => pool.connect()));
    try {
      return await closedLoops(spec, async (index) => {
        heads[index] = await rotateDirect(clients[index]!, heads[index]!, idleSeconds);
      });
    } finally {
      for (const client of clients) client.release();
    }
  } finally {
    await pool.end();
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  switch (spec.mode) {
    case 'argon2':
      return runArgon2(spec);
    case 'sql':
      return runSql(spec);
  }
}

// As a process: the spec as JSON in argv[2], the result as one JSON line on stdout.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  runLoad(spec).then(
    (result) => {
      process.stdout.write(`LOAD_JSON ${JSON.stringify(result)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
