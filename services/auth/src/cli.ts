#!/usr/bin/env node
/**
 * authctl: operator commands against the auth database (DATABASE_URL, or the embedded PGlite under
 * DATA_DIR), configured from the same environment as the service.
 *
 *   authctl keys rotate [--activate-after <seconds>]   publish a new key as next (signs after >= JWKS_MAX_AGE)
 *   authctl keys list                                  kid, alg, state and dates of every key
 *   authctl admin create --email <e> --password <p> [--promote]
 *
 * Run: pnpm --filter @keygate/auth exec node dist/cli.js keys rotate
 */
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { ConfigError } from '@keygate/config';
import { createDatabase, runMigrations } from '@keygate/db';
import { loadConfig, type AuthConfig } from './config.js';
import { createAdmin } from './domain/users.js';
import { RotationPendingError, promoteDueKeys, rotateSigningKey } from './keys/rotation.js';
import { listAllKeys } from './repositories/signing-keys.js';
import type { AuthDatabase } from './repositories/schema.js';

const USAGE = `usage:
  authctl keys rotate [--activate-after <seconds>]
  authctl keys list
  authctl admin create --email <email> --password <password> [--promote]
`;

class UsageError extends Error {}

async function withDatabase<T>(config: AuthConfig, run: (db: Kysely<AuthDatabase>) => Promise<T>): Promise<T> {
  const handle = await createDatabase<AuthDatabase>({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await runMigrations(handle.db, ['auth']);
    return await run(handle.db);
  } finally {
    await handle.close();
  }
}

async function keysRotate(config: AuthConfig, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'activate-after': { type: 'string' } }, strict: true });
  const raw = values['activate-after'];
  if (raw !== undefined && !/^\d+$/.test(raw)) throw new UsageError('--activate-after must be a whole number of seconds');
  await withDatabase(config, async (db) => {
    await promoteDueKeys(db, config);
    const row = await rotateSigningKey(db, config, raw === undefined ? {} : { activateAfterSeconds: Number(raw) });
    console.log(`new key ${row.kid} (${row.alg}) is ${row.state}; it signs from ${row.activates_at.toISOString()}`);
  });
}

async function keysList(config: AuthConfig): Promise<void> {
  await withDatabase(config, async (db) => {
    await promoteDueKeys(db, config);
    const rows = await listAllKeys(db);
    console.log(['kid', 'alg', 'state', 'created_at', 'activates_at', 'retires_at'].join('\t'));
    for (const row of rows) {
      console.log([row.kid, row.alg, row.state, row.created_at.toISOString(), row.activates_at.toISOString(), row.retires_at?.toISOString() ?? '-'].join('\t'));
    }
  });
}

async function adminCreate(config: AuthConfig, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, password: { type: 'string' }, promote: { type: 'boolean', default: false } }, strict: true });
  const { email, password } = values;
  if (email === undefined || password === undefined) throw new UsageError('admin create needs --email and --password');
  if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) throw new UsageError('--email must be an email address');
  if (password.length < 8 || password.length > 256) throw new UsageError('--password must be 8 to 256 characters');
  await withDatabase(config, async (db) => {
    const outcome = await createAdmin({ db }, email, password, { promoteExisting: values.promote ?? false });
    const messages = {
      created: 'admin created',
      promoted: 'existing account promoted to admin (password reset to the one given)',
      already_admin: 'that account is already an admin: nothing changed',
      taken_by_user: 'that email belongs to a non-admin account: nothing changed (pass --promote to make it admin)',
    } as const;
    console.log(messages[outcome]);
    if (outcome === 'taken_by_user') process.exitCode = 1;
  });
}

async function main(argv: string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const [group, command, ...rest] = argv;
  const config = loadConfig({ LOG_LEVEL: 'warn', ...env }, (message) => console.error(`warning: ${message}`));
  if (group === 'keys' && command === 'rotate') return keysRotate(config, rest);
  if (group === 'keys' && command === 'list') return keysList(config);
  if (group === 'admin' && command === 'create') return adminCreate(config, rest);
  throw new UsageError(`unknown command: ${[group, command].filter(Boolean).join(' ') || '(none)'}`);
}

main(process.argv.slice(2), process.env).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`${error.message}\n${USAGE}`);
  else if (error instanceof ConfigError || error instanceof RotationPendingError) console.error(error.message);
  else if (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) console.error(`${error.message}\n${USAGE}`);
  else console.error(`authctl failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
