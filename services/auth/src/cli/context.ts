/**
 * The AuthContext the authctl commands hand to the domain functions, so a change made from the
 * command line (disable a user, revoke a session) does exactly what the admin API does, including
 * publishing revocations on the bus for every gateway. Also: how a user is named on the command line.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Registry } from 'prom-client';
import { createBus } from '@keygate/bus';
import type { AuthConfig } from '../config.js';
import type { AuthContext, RequestMeta } from '../context.js';
import { normalizeEmail } from '../accounts/emails.js';
import { createPasswordHasher } from '../accounts/passwords.js';
import { KeyStore } from '../keys/key-store.js';
import { createAuthMetrics } from '../metrics.js';
import type { Db, UserRow } from '../db/schema.js';
import { findUser, findUserByEmailAddress } from '../accounts/service.js';
import { CliFailure, UsageError, withDatabase } from './support.js';

/** Audit rows written by authctl carry this instead of a client's IP and user agent. */
export const CLI_META: RequestMeta = { ip: null, userAgent: 'authctl' };
/** The `actor` of admin changes made from the command line (never a user id, so never "self"). */
export const CLI_ACTOR = 'authctl';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Warnings and errors of the domain code (a failed revocation publish) go to stderr, one line each. */
const noop = () => {};
const toStderr = (_details: unknown, message?: string) => console.error(`warning: ${message ?? ''}`);
const cliLog = { level: 'warn', fatal: toStderr, error: toStderr, warn: toStderr, info: noop, debug: noop, trace: noop, silent: noop, child: () => cliLog } as unknown as FastifyBaseLogger;

export function assertUuid(value: string, what: string): string {
  if (!UUID.test(value)) throw new UsageError(`${what} must be a UUID, got "${value}"`);
  return value.toLowerCase();
}

/** How a command line names a user: by email (contains "@") or by id. Checked before any database work. */
export type UserRef = { email: string; text: string } | { id: string; text: string };

export function parseUserRef(text: string): UserRef {
  return text.includes('@') ? { email: normalizeEmail(text), text } : { id: assertUuid(text, 'a user (email or id)'), text };
}

/** The named user; unknown → CliFailure. */
export async function resolveUser(db: Db, ref: UserRef): Promise<UserRow> {
  const user = 'email' in ref ? await findUserByEmailAddress(db, ref.email) : await findUser(db, ref.id);
  if (!user) throw new CliFailure(`no user ${ref.text}`);
  return user;
}

/**
 * Says, on stderr, what an embedded setup means for a revocation: without REDIS_URL no running
 * gateway hears of it; without DATABASE_URL the embedded stack cannot even be running.
 */
function embeddedNotes(config: AuthConfig): void {
  if (config.redisUrl === undefined) {
    console.error(
      'note: REDIS_URL is not set, so authctl told no running gateway: gateways hear of a revocation at once only through a Redis they share with authctl. ' +
        'The sessions are revoked in the database, so no refresh works any more; a running auth service on this database re-announces the revocation to its gateways within about a minute, ' +
        'and until then access tokens already issued may still pass.',
    );
  }
  if (config.databaseUrl === undefined) {
    console.error('note: DATABASE_URL is not set: authctl uses the embedded PGlite database under DATA_DIR, which only one process can open; stop the embedded stack before running authctl.');
  }
}

/** A database and a bus for one command; `revokes` prints the embedded-mode notes when it succeeded. */
export async function withAuthContext<T>(config: AuthConfig, options: { revokes: boolean }, run: (ctx: AuthContext) => Promise<T>): Promise<T> {
  const bus = createBus({ redisUrl: config.redisUrl, keyPrefix: config.redisPrefix });
  try {
    const result = await withDatabase(config, (db) => {
      const passwords = createPasswordHasher({ concurrency: config.passwordHashConcurrency });
      return run({ config, db, bus, log: cliLog, metrics: createAuthMetrics(new Registry()), keys: new KeyStore(db, config, cliLog), passwords });
    });
    // After the work (a failed command revoked nothing, so there is nothing to explain).
    if (options.revokes) embeddedNotes(config);
    return result;
  } finally {
    await bus.close();
  }
}
