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

/**
 * Runs a command, reporting the domain's refusals of the given kinds (a state or a spec the
 * operator fixes, not a crash) as CliFailure: their message alone, exit code 1.
 */
export async function withRefusalsAsFailures(refusals: readonly (abstract new (...args: never[]) => Error)[], command: () => Promise<void>): Promise<void> {
  try {
    await command();
  } catch (error) {
    if (refusals.some((kind) => error instanceof kind)) throw new CliFailure((error as Error).message);
    throw error;
  }
}

export async function withDatabase<T>(config: AuthConfig, run: (db: Kysely<AuthDatabase>) => Promise<T>): Promise<T> {
  const handle = await createDatabase<AuthDatabase>({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await runMigrations(handle.db, ['auth']);
    return await run(handle.db);
  } finally {
    await handle.close();
  }
}
