/** `pnpm migrate`: applies every service's migrations to DATABASE_URL, or to the embedded PGlite. */
import { coreSettings, loadSettings, ConfigError } from '@keygate/config';
import { createDatabase } from './database.js';
import { allMigrationOwners, runMigrations } from './migrations.js';

async function main(): Promise<void> {
  const { databaseUrl, dataDir } = loadSettings({ databaseUrl: coreSettings.databaseUrl, dataDir: coreSettings.dataDir }, process.env);
  const handle = await createDatabase({ databaseUrl, dataDir });
  try {
    const { applied } = await runMigrations(handle.db, allMigrationOwners());
    process.stdout.write(applied.length === 0 ? 'migrations: up to date\n' : `migrations applied: ${applied.join(', ')}\n`);
  } finally {
    await handle.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `migrate failed: ${error instanceof Error ? error.message : String(error)}`}\n`);
  process.exit(1);
});
