#!/usr/bin/env node
/**
 * authctl: operator commands against the auth database (DATABASE_URL, or the embedded PGlite under
 * DATA_DIR), configured from the same environment as the service.
 *
 *   authctl keys rotate [--activate-after <seconds>] [--wait]   publish a new key as next (signs after >= JWKS_MAX_AGE); prints the schedule
 *   authctl keys list                                  kid, alg, state and dates of every key
 *   authctl keys schedule [--json]                     when each key starts/stops signing and leaves the JWKS
 *   authctl keys revoke <kid>                          a compromised key: out of the JWKS and refused everywhere at once; a new key signs
 *   authctl admin create --email <e> --password <p> [--promote]
 *   authctl clients create --name N --grant G [--grant G …] [--public] [--first-party] [--introspect] [--redirect-uri U …] [--post-logout-redirect-uri U …] [--scope S …] [--json]
 *   authctl clients list [--json]
 *   authctl clients rotate-secret <client_id> [--json]
 *   authctl clients delete <client_id>
 *   authctl users create --email <e> --password <p> [--role admin|user] [--json]
 *   authctl users list [--role admin|user] [--disabled] [--json]
 *   authctl users disable|enable <email|id>           disable revokes every session and tells the gateways
 *   authctl users set-role <email|id> <admin|user>    revokes every session (as PATCH /admin/users does)
 *   authctl users reset-mfa <email|id>                removes a lost second factor (support)
 *   authctl users delete <email|id>                   deletes the account as DELETE /auth/me does
 *   authctl sessions list <email|id> [--json]
 *   authctl sessions revoke <session_id>
 *   authctl sessions revoke-all <email|id>
 *   authctl config [--json]                            effective configuration, secrets masked
 *
 * Run from the repository root: pnpm authctl clients list
 */
import { ConfigError } from '@keygate/config';
import { KNOWN_SCOPES } from '@keygate/tokens';
import { CliFailure, UsageError } from './cli/support.js';
import { loadConfig, type AuthConfig } from './config.js';

/**
 * Each command's module (and what it pulls in: the database driver, the bus, argon2, the domain)
 * is loaded when that command runs, so `--help`, a usage error or `config` answer without loading
 * the rest (about a second of module loading per run otherwise).
 */
type Command = (config: AuthConfig, command: string, args: string[]) => Promise<void>;
const COMMAND_GROUPS: Record<string, () => Promise<Command>> = {
  keys: async () => (await import('./cli/keys.js')).keysCommand,
  admin: async () => (await import('./cli/users.js')).usersCommand,
  users: async () => (await import('./cli/users.js')).usersCommand,
  sessions: async () => (await import('./cli/sessions.js')).sessionsCommand,
  clients: async () => (await import('./cli/clients.js')).clientsCommand,
};

const HELP = {
  'keys rotate': `usage: authctl keys rotate [--activate-after <seconds>] [--wait]
  Publishes a new signing key as "next"; it starts signing after at least JWKS_MAX_AGE seconds.
  Prints the key schedule afterwards.
  --activate-after  seconds every instance publishes it before any signs with it (never less
                    than JWKS_MAX_AGE; it signs KEY_REFRESH_SECONDS + 1 s after that)
  --wait            stay until the new key is current, with a progress line every 5 s`,
  'keys schedule': `usage: authctl keys schedule [--json]
  Shows every key's state, when it is published, starts and stops signing, and leaves the JWKS.`,
  'keys revoke': `usage: authctl keys revoke <kid>
  Emergency rotation for a compromised key: the key never signs and leaves the JWKS at once, a new key
  signs immediately if it was the current one, and every gateway sharing REDIS_URL refuses tokens
  signed with it within a second (their holders refresh or log in again). See docs/operations.md.`,
  'keys list': `usage: authctl keys list
  Lists every signing key: kid, alg, state and dates (never key material).`,
  'admin create': `usage: authctl admin create --email <email> --password <password> [--promote]
  Creates an admin account; --promote makes an existing account with that email admin.`,
  'clients create': `usage: authctl clients create --name <name> --grant <grant> [--grant <grant> …] [--public]
                              [--first-party] [--introspect] [--redirect-uri <uri> …]
                              [--post-logout-redirect-uri <uri> …] [--scope <scope> …] [--json]
  Registers an OAuth client. Grants: authorization_code, refresh_token, client_credentials, password.
  Confidential clients (the default) get a secret, printed once and stored only as a hash.
  Clients are third-party unless --first-party.
  --public        no secret (browser/native apps); needed for the password grant, refused for client_credentials
  --first-party   your own application: may use the password grant and the account and admin scopes
  --introspect    a resource server: may introspect any client's tokens (confidential clients only)
  --redirect-uri  redirect URI for authorization_code (https, or http on localhost; exact match, except
                  that http://127.0.0.1/… and http://[::1]/… match any port); repeatable
  --post-logout-redirect-uri  where /oauth/logout may return the browser (exact match); repeatable
  --scope         a scope the client may be granted, one of ${[...KNOWN_SCOPES].join(', ')}; repeatable
  --json          print {"client_id": …, "client_secret": …} (no client_secret for public clients)`,
  'clients list': `usage: authctl clients list [--json]
  Lists the registered clients (never secrets): first- or third-party, and whether they may introspect.`,
  'clients rotate-secret': `usage: authctl clients rotate-secret <client_id> [--json]
  Replaces a confidential client's secret: the new one is printed once, the old one stops working at once.`,
  'clients delete': `usage: authctl clients delete <client_id>
  Deletes a client and revokes every session (refresh token) it holds and every access token issued
  to it: gateways sharing REDIS_URL refuse them within a second.`,
  'users create': `usage: authctl users create --email <email> --password <password> [--role admin|user] [--json]
  Creates an account (role user unless --role admin). Fails if the email is taken.`,
  'users list': `usage: authctl users list [--role admin|user] [--disabled] [--json]
  Lists accounts: id, email, role, enabled/disabled, created_at. --disabled lists disabled ones only.`,
  'users disable': `usage: authctl users disable <email|id>
  Disables an account and revokes all its sessions; gateways sharing REDIS_URL refuse its tokens within a second.`,
  'users enable': `usage: authctl users enable <email|id>
  Enables a disabled account (its old sessions stay revoked: the user logs in again).`,
  'users set-role': `usage: authctl users set-role <email|id> <admin|user>
  Changes an account's role; a change revokes all its sessions, as PATCH /admin/users does.`,
  'users reset-mfa': `usage: authctl users reset-mfa <email|id>
  Removes an account's second factor (TOTP and recovery codes) for a user who lost it; they sign in
  with their password alone and may enrol again. Writes an mfa_removed audit row (by authctl).`,
  'users delete': `usage: authctl users delete <email|id>
  Deletes an account as DELETE /auth/me does: every session revoked (gateways sharing REDIS_URL refuse
  its tokens within a second), the account and its data removed, audit rows kept without the email.`,
  'sessions list': `usage: authctl sessions list <email|id> [--json]
  Lists a user's sessions: id, created, last used, ip, user agent, state (live, expired, revoked (reason)).`,
  'sessions revoke': `usage: authctl sessions revoke <session_id>
  Revokes one session; gateways sharing REDIS_URL refuse its access tokens within a second.`,
  'sessions revoke-all': `usage: authctl sessions revoke-all <email|id>
  Revokes every live session of a user (log out everywhere).`,
  config: `usage: authctl config [--json]
  Prints the effective auth configuration with every secret masked, and where each value comes from.`,
} as const;

type CommandName = keyof typeof HELP;

const USAGE = `usage:\n${Object.values(HELP).map((text) => '  ' + text.split('\n')[0]!.replace(/^usage: /, '')).join('\n')}\n  authctl <command> --help\n`;

function usageOf(command: string | undefined): string {
  return command !== undefined && command in HELP ? `${HELP[command as CommandName]}\n` : USAGE;
}

async function main(argv: string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  // `config` is a one-word command: everything after it is its arguments.
  const oneWord = argv[0] === 'config';
  const [group, command] = oneWord ? [argv[0], undefined] : argv;
  const rest = argv.slice(oneWord ? 1 : 2);
  const name = command === undefined ? (group ?? '') : `${group} ${command}`;
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
    if (commandName === 'config') {
      (await import('./cli/settings.js')).configCommand(rest, env);
      return;
    }
    const command = await COMMAND_GROUPS[group!]!();
    await command(config, commandName, rest);
  } catch (error) {
    if (error instanceof UsageError && error.command === undefined) throw new UsageError(error.message, commandName);
    if (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) throw new UsageError(error.message, commandName);
    throw error;
  }
}

main(process.argv.slice(2), process.env).catch((error: unknown) => {
  if (error instanceof UsageError) console.error(`${error.message}\n${usageOf(error.command)}`);
  else if (error instanceof ConfigError || error instanceof CliFailure) console.error(error.message);
  else if (error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) console.error(`${error.message}\n${USAGE}`);
  else console.error(`authctl failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
