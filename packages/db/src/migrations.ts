/**
 * Applies the SQL files under migrations/<owner>/ in name order, once each, recording them in
 * public.schema_migrations. A session-level advisory lock makes concurrent start-ups of many
 * instances safe: the first applies, the others wait and then find nothing to do. Applied files
 * are frozen: a changed checksum stops start-up instead of drifting silently.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';

/** Arbitrary but fixed: every instance of every service agrees on it. */
const MIGRATION_LOCK_KEY = 74_201_117;

export const DEFAULT_MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../migrations');

export interface MigrationFile {
  owner: string;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

export function listMigrations(owners: readonly string[], dir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const owner of owners) {
    const folder = join(dir, owner);
    if (!existsSync(folder)) throw new MigrationError(`no migrations folder for "${owner}" at ${folder}`);
    for (const name of readdirSync(folder).filter((f) => f.endsWith('.sql')).sort()) {
      const text = readFileSync(join(folder, name), 'utf8');
      files.push({ owner, name, sql: text, checksum: createHash('sha256').update(text).digest('hex') });
    }
  }
  return files;
}

export interface MigrationResult {
  applied: string[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runMigrations(db: Kysely<any>, owners: readonly string[], dir: string = DEFAULT_MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = listMigrations(owners, dir);
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
    try {
      await sql`create table if not exists public.schema_migrations (
        owner text not null,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now(),
        primary key (owner, name)
      )`.execute(conn);
      const rows = await sql<{ owner: string; name: string; checksum: string }>`select owner, name, checksum from public.schema_migrations`.execute(conn);
      const done = new Map(rows.rows.map((r) => [`${r.owner}/${r.name}`, r.checksum]));
      const applied: string[] = [];
      for (const file of files) {
        const id = `${file.owner}/${file.name}`;
        const previous = done.get(id);
        if (previous !== undefined) {
          if (previous !== file.checksum) throw new MigrationError(`migration ${id} was changed after it was applied; add a new migration instead`);
          continue;
        }
        await sql.raw('begin').execute(conn);
        try {
          await sql.raw(file.sql).execute(conn);
          await sql`insert into public.schema_migrations (owner, name, checksum) values (${file.owner}, ${file.name}, ${file.checksum})`.execute(conn);
          await sql.raw('commit').execute(conn);
        } catch (error) {
          await sql.raw('rollback').execute(conn);
          throw new MigrationError(`migration ${id} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
        applied.push(id);
      }
      return { applied };
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
    }
  });
}

/** Every folder under migrations/, for `pnpm migrate`. */
export function allMigrationOwners(dir: string = DEFAULT_MIGRATIONS_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}
