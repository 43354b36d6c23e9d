/**
 * One way to open the database: node-postgres when DATABASE_URL is set, PGlite otherwise
 * (persisted under DATA_DIR/pglite, or in memory for tests). Callers get a kysely instance and
 * never learn which one they have.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { multiHostPoolOptions, parseMultiHostUrl } from './multi-host.js';
import { PGliteDialect } from './pglite-dialect.js';

// Return int8 (bigint / count(*)) as a JS number where it fits; ids are uuids, so this only
// touches counters.
pg.types.setTypeParser(20, (value: string) => {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
});

export type DatabaseKind = 'postgres' | 'pglite';

/** SQL text → statement name, for the texts node-postgres sends as named statements (nameStatement). */
const namedStatements = new Map<string, string>();

/**
 * Has node-postgres send `text` as a named (server-side prepared) statement: PostgreSQL parses,
 * analyses and plans it once per connection instead of at every call, and the driver stops
 * sending its text. For hot statements whose result columns cannot change while an instance runs
 * (a call of a function with a fixed result type): PostgreSQL refuses a prepared statement whose
 * result type changed ("cached plan must not change result type"), so a `select *` from a table
 * that a later migration widens must not be named. PGlite ignores it (no wire protocol).
 */
export function nameStatement(text: string, name: string): void {
  const known = namedStatements.get(text);
  if (known !== undefined && known !== name) throw new Error(`statement already named ${known}`);
  for (const [other, otherName] of namedStatements) if (otherName === name && other !== text) throw new Error(`statement name ${name} is taken`);
  namedStatements.set(text, name);
}

type Query = (config: unknown, values?: unknown, callback?: unknown) => unknown;

/**
 * Routes the named texts of `client.query(text, values)` (kysely's call) to `{ name, text, values }`.
 * The class's `query` is looked up at every call, so whatever wraps it later (a test's or the
 * benchmark's query counter) still sees every query.
 */
function sendNamedStatements(client: pg.PoolClient): void {
  const target = client as unknown as { query: Query };
  const ownClass = Object.getPrototypeOf(target) as { query: Query };
  target.query = function (this: unknown, config: unknown, values?: unknown, callback?: unknown) {
    const name = typeof config === 'string' ? namedStatements.get(config) : undefined;
    return name === undefined ? ownClass.query.call(this, config, values, callback) : ownClass.query.call(this, { name, text: config, values }, undefined, callback);
  };
}

export interface DatabaseHandle<DB = unknown> {
  readonly db: Kysely<DB>;
  readonly kind: DatabaseKind;
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>;
  /** Closes the pool or the PGlite instance if this handle opened it. */
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… selects node-postgres. */
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files when no databaseUrl is given; omitted means in memory. */
  dataDir?: string | undefined;
  /** An already open PGlite, shared by several services in one process; never closed here. */
  pglite?: PGlite | undefined;
  poolSize?: number;
  /** Called for errors on idle pool clients, which would otherwise crash the process. */
  onPoolError?: (error: Error) => void;
}

export async function openEmbeddedPglite(dataDir?: string): Promise<PGlite> {
  if (dataDir === undefined) return PGlite.create();
  const dir = join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  return PGlite.create(dir);
}

export async function createDatabase<DB = unknown>(options: DatabaseOptions): Promise<DatabaseHandle<DB>> {
  if (options.databaseUrl) {
    // Several hosts and target_session_attrs (libpq's failover form) are ours to implement.
    const multiHost = parseMultiHostUrl(options.databaseUrl);
    const pool = new pg.Pool({
      connectionString: multiHost?.urls[0] ?? options.databaseUrl,
      ...(multiHost ? multiHostPoolOptions(multiHost) : {}),
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      // A query stuck behind a dead server must fail so callers can answer 503.
      query_timeout: 15_000,
    });
    pool.on('error', (error) => options.onPoolError?.(error));
    // A checked-out client whose server goes away emits 'error' outside any pending query;
    // without a listener that would crash the process instead of failing one request with 503.
    pool.on('connect', (client) => {
      client.on('error', (error) => options.onPoolError?.(error));
      sendNamedStatements(client);
    });
    // With several hosts, a connection refused by one (or a standby) is tried on the next at once,
    // each host once, so a primary switch fails only the queries in flight on the old primary.
    const attempts = multiHost?.urls.length ?? 1;
    const connect = async (): Promise<pg.PoolClient> => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await pool.connect();
        } catch (error) {
          if (attempt >= attempts) throw error;
        }
      }
    };
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: { connect, end: () => pool.end() } }) });
    let closed = false;
    return handle(db, 'postgres', async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    });
  }
  const owned = options.pglite === undefined;
  const client = options.pglite ?? (await openEmbeddedPglite(options.dataDir));
  const db = new Kysely<DB>({ dialect: new PGliteDialect(client) });
  return handle(db, 'pglite', async () => {
    if (owned && !client.closed) await client.close();
  });
}

/** The handle over either backend: the same ping, each its own close. */
function handle<DB>(db: Kysely<DB>, kind: DatabaseHandle<DB>['kind'], close: () => Promise<void>): DatabaseHandle<DB> {
  return {
    db,
    kind,
    async ping() {
      await sql`select 1`.execute(db);
    },
    close,
  };
}
