/**
 * Test helpers (devDependency only). Each test file gets its own PostgreSQL database and Redis
 * key prefix, so tap can run files in parallel against the machine's real servers. Without
 * DATABASE_URL/REDIS_URL (outside CI) tests fall back to in-memory PGlite and the memory bus and
 * say so; under CI=true a missing server is a failure, never a silent skip.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const realDatabaseUrl: string | undefined = process.env.DATABASE_URL || undefined;
export const realRedisUrl: string | undefined = process.env.REDIS_URL || undefined;
export const inCi = process.env.CI === 'true' || process.env.CI === '1';

if (inCi && (!realDatabaseUrl || !realRedisUrl)) {
  throw new Error('CI=true requires DATABASE_URL and REDIS_URL: tests must run against real PostgreSQL and Redis');
}

const warned = new Set<string>();
/** Prints once per process what a test file is running without. */
export function noteEmbedded(what: string): void {
  if (warned.has(what)) return;
  warned.add(what);
  process.stderr.write(`# note: ${what}\n`);
}

export function randomName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  /** postgres:// URL of a fresh, empty database; undefined means use in-memory PGlite. */
  url: string | undefined;
  drop(): Promise<void>;
  /** One query on its own connection, for a test to look at what services wrote (real PostgreSQL only). */
  query<Row extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A fresh database on the real server (dropped by `drop`), or PGlite when none is configured. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (!realDatabaseUrl) {
    noteEmbedded('DATABASE_URL unset: using in-memory PGlite instead of real PostgreSQL');
    return {
      url: undefined,
      drop: async () => {},
      query: async () => {
        throw new Error('query needs DATABASE_URL (real PostgreSQL)');
      },
    };
  }
  const name = randomName('kg_test');
  const admin = new pg.Client({ connectionString: realDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(realDatabaseUrl, name);
  return {
    url,
    async query<Row extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<Row[]> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<Row>(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: realDatabaseUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A Redis key prefix unique to this test file, or undefined Redis when none is configured. */
export function testRedis(): { url: string | undefined; prefix: string } {
  if (!realRedisUrl) noteEmbedded('REDIS_URL unset: using the in-memory bus instead of real Redis');
  return { url: realRedisUrl, prefix: `${randomName('kgt')}:` };
}

export function tempDir(prefix = 'keygate-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function randomKeyBase64(bytes = 32): string {
  return randomBytes(bytes).toString('base64');
}

export interface TestEnvironment {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * The environment a service's loadConfig gets in tests: silent logs, a temp DATA_DIR, a fresh
 * database, a unique Redis prefix, explicit secrets, a free operations port. `overrides` win.
 */
export async function createTestEnvironment(overrides: Record<string, string> = {}): Promise<TestEnvironment> {
  const database = await createTestDatabase();
  const redis = testRedis();
  const dir = tempDir();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: dir.path,
    REDIS_PREFIX: redis.prefix,
    GATEWAY_SECRET: randomKeyBase64(),
    KEY_ENCRYPTION_KEY: randomKeyBase64(),
    // A free operations port: test files run in parallel, and a started process or stack must
    // never take the fixed 9080-9083 (nor collide with a `pnpm start` on the same machine).
    METRICS_PORT: '0',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...(redis.url ? { REDIS_URL: redis.url } : {}),
    ...overrides,
  };
  return {
    env,
    async cleanup() {
      await database.drop();
      dir.remove();
    },
  };
}

export { startTemporaryPostgres, postgresBinDir, type TemporaryPostgres } from './temporary-postgres.js';
export { freePort, freePorts } from './ports.js';
export { serviceNodeFlags } from './node-flags.js';
export { rawHttp, type RawHttpAnswer } from './raw-http.js';
export { scrapeMetrics, type ScrapableApp } from './metrics.js';
export { startCaptureSmtp, type CaptureSmtp, type CapturedMail } from './smtp.js';
