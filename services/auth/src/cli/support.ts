/** What the authctl commands share: usage errors and a migrated database for one command. */
import type { Kysely } from 'kysely';
import { createDatabase, runMigrations } from '@keygate/db';
import type { AuthConfig } from '../config.js';
import type { AuthDatabase } from '../db/schema.js';

/** A mistake in the command line: printed with the command's usage, exit code 1. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A command that ran but could not do what was asked: message only, exit code 1. */
export class CliFailure extends Error {}

export async function withDatabase<T>(config: AuthConfig, run: (db: Kysely<AuthDatabase>) => Promise<T>): Promise<T> {
  const handle = await createDatabase<AuthDatabase>({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await runMigrations(handle.db, ['auth']);
    return await run(handle.db);
  } finally {
    await handle.close();
  }
}
