#!/usr/bin/env node
/**
 * authctl: operator commands against the auth database (DATABASE_URL, or the embedded PGlite under
 * DATA_DIR), configured from the same environment as the service.
 *
 *   authctl keys rotate [--activate-after <seconds>]   publish a new key as next (signs after >= JWKS_MAX_AGE)
 *   authctl keys list                                  kid, alg, state and dates of every key
 *   authctl admin create --email <e> --password <p> [--promote]
 *   authctl clients create --name N --grant G [--grant G …] [--public] [--redirect-uri U …] [--scope S …] [--json]
 *   authctl clients list [--json]
 *   authctl clients rotate-secret <client_id> [--json]
 *   authctl clients delete <client_id>
 *
 * Run from the repository root: pnpm authctl clients list
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '@keygate/config';
import { UsageError, withDatabase } from './cli/support.js';
import { loadConfig, type AuthConfig } from './config.js';
import { createAdmin } from './domain/users.js';
import { ClientRegistrationError } from './domain/clients.js';
import { CliFailure, clientsCommand } from './cli/clients.js';
import { RotationPendingError, promoteDueKeys, rotateSigningKey } from './keys/rotation.js';
import { listAllKeys } from './repositories/signing-keys.js';

const HELP = {
  'keys rotate': `usage: authctl keys rotate [--activate-after <seconds>]
  Publishes a new signing key as "next"; it starts signing after at least JWKS_MAX_AGE seconds.`,
  'keys list': `usage: authctl keys list
  Lists every signing key: kid, alg, state and dates (never key material).`,
  'admin create': `usage: authctl admin create --email <email> --password <password> [--promote]
  Creates an admin account; --promote makes an existing account with that email admin.`,
  'clients create': `usage: authctl clients create --name <name> --grant <grant> [--grant <grant> …] [--public]
                              [--redirect-uri <uri> …] [--scope <scope> …] [--json]
  Registers an OAuth client. Grants: authorization_code, refresh_token, client_credentials, password.
  Confidential clients (the default) get a secret, printed once and stored only as a hash.
  --public        no secret (browser/native apps); needed for the password grant, refused for client_credentials
  --redirect-uri  exact redirect URI for authorization_code (https, or http on localhost); repeatable
  --scope         a scope the client may be granted; repeatable
  --json          print {"client_id": …, "client_secret": …} (no client_secret for public clients)`,
  'clients list': `usage: authctl clients list [--json]
  Lists the registered clients (never secrets).`,
  'clients rotate-secret': `usage: authctl clients rotate-secret <client_id> [--json]
  Replaces a confidential client's secret: the new one is printed once, the old one stops working at once.`,
  'clients delete': `usage: authctl clients delete <client_id>
  Deletes a client and revokes every session (refresh token) it holds.`,
} as const;

type CommandName = keyof typeof HELP;

const USAGE = `usage:\n${Object.values(HELP).map((text) => '  ' + text.split('\n')[0]!.replace(/^usage: /, '')).join('\n')}\n  authctl <command> --help\n`;

function usageOf(command: string | undefined): string {
  return command !== undefined && command in HELP ? `${HELP[command as CommandName]}\n` : USAGE;
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
  const name = `${group ?? ''} ${command ?? ''}`;
  if (!(name in HELP)) {
    if (group === undefined || group === '--help' || group === 'help') {
      console.log(USAGE);
      return;
    }
    throw new UsageError(`unknown command: ${[group, command].filter(Boolean).join(' ')}`);
  }
  const commandName = name as CommandName;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP[commandName]);
    return;
  }
  const config = loadConfig({ LOG_LEVEL: 'warn', ...env }, (message) => console.error(`warning: ${message}`));
  try {
    switch (commandName) {
      case 'keys rotate':
        return await keysRotate(config, rest);
      case 'keys list':
        return await keysList(config);
      case 'admin create':
        return await adminCreate(config, rest);
      default:
        return await clientsCommand(config, commandName, rest);
    }
  } catch (error) {
    if (error instanceof UsageError && error.command === undefined) throw new UsageError(error.message, commandName);
    if (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw new UsageError(error.message, commandName);
    throw error;
  }
}

main(process.argv.slice(2), process.env).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`${error.message}\n${usageOf(error.command)}`);
  else if (error instanceof ConfigError || error instanceof RotationPendingError || error instanceof ClientRegistrationError || error instanceof CliFailure) console.error(error.message);
  else if (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) console.error(`${error.message}\n${USAGE}`);
  else console.error(`authctl failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
