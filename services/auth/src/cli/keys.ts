/**
 * authctl keys rotate [--wait] and keys schedule: the signing-key schedule an operator needs to
 * see, namely when each key starts and stops signing and when it leaves the JWKS. A rotation
 * publishes the new key first and lets it sign only after JWKS_MAX_AGE, so `--wait` can take
 * minutes: it prints a progress line every few seconds until the key signs.
 *
 * authctl keys revoke <kid>: the emergency rotation for a compromised key (docs/operations.md).
 * authctl keys list: every key's kid, alg, state and dates.
 */
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { AuthConfig } from '../config.js';
import { publishRevocation } from '../revocations/service.js';
import { RotationPendingError, UnknownKeyError, promoteDueKeys, retentionSeconds, revokeSigningKey, rotateSigningKey } from '../keys/rotation.js';
import type { AuthDatabase, SigningKeyRow } from '../db/schema.js';
import { findKeyInState, listAllKeys } from '../keys/service.js';
import { withAuthContext } from './context.js';
import { CliFailure, UsageError, withDatabase, withRefusalsAsFailures } from './support.js';

const PROGRESS_EVERY_MS = 5_000;
const POLL_MS = 500;
/** Beyond its activation time, how long --wait gives the promotion before giving up. */
const WAIT_SLACK_MS = 10_000;

export interface ScheduleEntry {
  kid: string;
  alg: string;
  /** `revoked`: retired by `keys revoke`. */
  state: SigningKeyRow['state'] | 'revoked';
  /** Published in the JWKS from creation. */
  published_at: string;
  signs_from: string;
  /** null: until a later rotation makes another key current. */
  signs_until: string | null;
  /** null: not decided yet (it depends on when the key stops signing). */
  leaves_jwks_at: string | null;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** Each key's schedule; a current key stops when the pending next key activates. */
export function keySchedule(rows: readonly SigningKeyRow[], config: Pick<AuthConfig, 'accessTokenTtl' | 'keyRefreshSeconds'>): ScheduleEntry[] {
  const next = rows.find((row) => row.state === 'next');
  const keepMs = retentionSeconds(config) * 1000;
  return rows.map((row) => {
    let until: Date | null = row.deactivated_at;
    let leaves: Date | null = row.retires_at;
    if (row.state === 'current' && next) {
      until = next.activates_at;
      leaves = new Date(next.activates_at.getTime() + keepMs);
    }
    return { kid: row.kid, alg: row.alg, state: row.revoked_at ? 'revoked' : row.state, published_at: row.created_at.toISOString(), signs_from: row.activates_at.toISOString(), signs_until: iso(until), leaves_jwks_at: iso(leaves) };
  });
}

function when(value: string | null, now: number, unknown: string): string {
  if (value === null) return unknown;
  const seconds = Math.round((Date.parse(value) - now) / 1000);
  return seconds > 0 ? `${value} (in ${seconds} s)` : value;
}

export function formatSchedule(entries: readonly ScheduleEntry[], now = Date.now()): string {
  const lines = [['kid', 'alg', 'state', 'published_at', 'signs_from', 'signs_until', 'leaves_jwks_at'].join('\t')];
  for (const e of entries) {
    lines.push([e.kid, e.alg, e.state, e.published_at, when(e.signs_from, now, '-'), when(e.signs_until, now, 'next rotation'), when(e.leaves_jwks_at, now, e.state === 'retired' || e.state === 'revoked' ? '-' : 'after it stops signing')].join('\t'));
  }
  return lines.join('\n');
}

async function readSchedule(db: Kysely<AuthDatabase>, config: AuthConfig): Promise<ScheduleEntry[]> {
  await promoteDueKeys(db, config);
  return keySchedule(await listAllKeys(db), config);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls (and promotes, as any auth instance would) until `kid` is current; progress on stdout. */
async function waitUntilCurrent(db: Kysely<AuthDatabase>, config: AuthConfig, key: SigningKeyRow): Promise<void> {
  const deadline = key.activates_at.getTime() + WAIT_SLACK_MS;
  let lastProgress = 0;
  for (;;) {
    await promoteDueKeys(db, config);
    if ((await findKeyInState(db, 'current'))?.kid === key.kid) break;
    const now = Date.now();
    if (now > deadline) throw new CliFailure(`key ${key.kid} did not become current by ${new Date(deadline).toISOString()}; see authctl keys schedule`);
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      console.log(`waiting for key ${key.kid} to become current: ${Math.max(0, Math.ceil((key.activates_at.getTime() - now) / 1000))} s left`);
    }
    await sleep(POLL_MS);
  }
  console.log(`key ${key.kid} is current: it signs new tokens now (running instances switch within KEY_REFRESH_SECONDS, ${config.keyRefreshSeconds} s)`);
}

async function rotate(config: AuthConfig, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { 'activate-after': { type: 'string' }, wait: { type: 'boolean', default: false } }, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const raw = values['activate-after'];
  if (raw !== undefined && !/^\d+$/.test(raw)) throw new UsageError('--activate-after must be a whole number of seconds');
  await withDatabase(config, async (db) => {
    await promoteDueKeys(db, config);
    const row = await rotateSigningKey(db, config, raw === undefined ? {} : { activateAfterSeconds: Number(raw) });
    console.log(`new key ${row.kid} (${row.alg}) is ${row.state}; it signs from ${row.activates_at.toISOString()}`);
    console.log(`\n${formatSchedule(await readSchedule(db, config))}\n`);
    if (values.wait && row.state === 'next') await waitUntilCurrent(db, config, row);
  });
}

async function schedule(config: AuthConfig, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const entries = await withDatabase(config, (db) => readSchedule(db, config));
  console.log(values.json ? JSON.stringify(entries) : formatSchedule(entries));
}

/**
 * Revokes a key at once (retired, and replaced if it was signing), then tells every auth instance
 * and gateway through the revocations channel. Unknown kid: one line, exit 1.
 */
async function revoke(config: AuthConfig, args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('give exactly one kid (authctl keys list shows them)');
  const kid = positionals[0]!;
  const revocation = await withAuthContext(config, { revokes: false }, async (ctx) => {
    const done = await revokeSigningKey(ctx.db, config, kid);
    // Refused until every token it could have signed has expired: one signed by an instance
    // that had not reloaded yet lives ACCESS_TOKEN_TTL after that instance's next re-read.
    const untilMs = done.revoked.revoked_at!.getTime() + retentionSeconds(config) * 1000;
    await publishRevocation(ctx, 'key', kid, untilMs);
    return done;
  });
  const { replacement } = revocation;
  console.log(
    revocation.alreadyRevoked
      ? `key ${kid} was already revoked (at ${revocation.revoked.revoked_at!.toISOString()}); its revocation was announced again`
      : `key ${kid} is revoked (it was ${revocation.stateBefore}): it never signs again and has left the JWKS`,
  );
  if (replacement) console.log(`new key ${replacement.kid} (${replacement.alg}) is current: it signs new tokens now`);
  if (config.redisUrl === undefined) {
    console.error(
      'note: REDIS_URL is not set, so no running auth instance or gateway was told: auth instances on this database stop using the key within KEY_REFRESH_SECONDS, ' +
        'and re-announce the revocation to their gateways within about a minute; until then gateways may still accept its tokens.',
    );
  } else {
    console.log(`every auth instance and gateway sharing REDIS_URL refuses tokens signed with ${kid} within a second; their holders must refresh or log in again`);
  }
}

async function list(config: AuthConfig): Promise<void> {
  await withDatabase(config, async (db) => {
    await promoteDueKeys(db, config);
    const rows = await listAllKeys(db);
    console.log(['kid', 'alg', 'state', 'created_at', 'activates_at', 'retires_at'].join('\t'));
    for (const row of rows) {
      console.log([row.kid, row.alg, row.revoked_at ? 'revoked' : row.state, row.created_at.toISOString(), row.activates_at.toISOString(), row.retires_at?.toISOString() ?? '-'].join('\t'));
    }
  });
}

function run(config: AuthConfig, command: string, args: string[]): Promise<void> {
  if (command === 'keys rotate') return rotate(config, args);
  if (command === 'keys schedule') return schedule(config, args);
  if (command === 'keys revoke') return revoke(config, args);
  if (command === 'keys list') return list(config);
  throw new UsageError(`unknown command: ${command}`);
}

/** A rotation already pending, an unknown kid: one line, exit 1. */
export function keysCommand(config: AuthConfig, command: string, args: string[]): Promise<void> {
  return withRefusalsAsFailures([RotationPendingError, UnknownKeyError], () => run(config, command, args));
}
