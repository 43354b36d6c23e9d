/**
 * Signing-key lifecycle: create the first key, schedule a rotation, promote and retire on time.
 * Every change runs in one transaction under the signing-keys advisory lock, so instances
 * starting together, the CLI and the periodic promotion never race each other.
 *
 *   next      published in JWKS, not signing yet: by every instance for at least JWKS_MAX_AGE
 *             before any instance signs with it (see publicationLeadSeconds)
 *   current   signing; exactly one
 *   previous  published until ACCESS_TOKEN_TTL + skew after it stopped signing
 *   retired   never published again
 *
 * A revoked key (`authctl keys revoke`, a compromised key) is retired at once from any state, with
 * `revoked_at` set; if it was signing, a new key becomes current in the same transaction.
 */
import type { Kysely } from 'kysely';
import { CLOCK_SKEW_SECONDS, encryptPrivateKey, generateSigningKey, type GeneratedSigningKey } from '@keygate/tokens';
import { recordAudit } from '../audit/service.js';
import type { AuthDatabase, Db, SigningKeyRow } from '../db/schema.js';
import {
  activateNextKey,
  findKey,
  findKeyInState,
  insertSigningKey,
  lockSigningKeys,
  markKeyRevoked,
  promotionDue,
  retireExpiredKeys,
} from './repository.js';

export interface KeyPolicy {
  keyEncryptionKey: Buffer;
  signingAlg: string;
  accessTokenTtl: number;
  jwksMaxAge: number;
  /** How often instances re-read the keys: one may keep signing with a demoted key this long. */
  keyRefreshSeconds: number;
}

/**
 * How long a key keeps being published after it stopped signing: the last token it signed (by an
 * instance that has not re-read the keys yet) lives ACCESS_TOKEN_TTL, plus verifiers' clock skew.
 */
export function retentionSeconds(policy: Pick<KeyPolicy, 'accessTokenTtl' | 'keyRefreshSeconds'>): number {
  return policy.keyRefreshSeconds + policy.accessTokenTtl + CLOCK_SKEW_SECONDS;
}

async function newKeyRow(db: Db, policy: KeyPolicy, state: 'next' | 'current', activatesInSeconds: number): Promise<SigningKeyRow> {
  return insertKeyRow(db, policy, await generateSigningKey(policy.signingAlg), state, activatesInSeconds);
}

function insertKeyRow(db: Db, policy: KeyPolicy, key: GeneratedSigningKey, state: 'next' | 'current', activatesInSeconds: number): Promise<SigningKeyRow> {
  return insertSigningKey(db, {
    kid: key.kid,
    alg: key.alg,
    state,
    publicJwk: key.publicJwk as Record<string, unknown>,
    privateKeySealed: encryptPrivateKey(key.privateJwk, policy.keyEncryptionKey, key.kid),
    activatesInSeconds,
  });
}

/** First start: creates a current key when there is none. Safe when many instances start at once. */
export async function ensureCurrentKey(db: Kysely<AuthDatabase>, policy: KeyPolicy): Promise<{ created: boolean; kid: string }> {
  const existing = await findKeyInState(db, 'current');
  if (existing) return { created: false, kid: existing.kid };
  return db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    const current = await findKeyInState(trx, 'current');
    if (current) return { created: false, kid: current.kid };
    const row = await newKeyRow(trx, policy, 'current', 0);
    await recordAudit(trx, { event: 'key_created', details: { kid: row.kid, alg: row.alg, state: 'current' } });
    return { created: true, kid: row.kid };
  });
}

/**
 * A re-read of the keys (listPublishedKeys, decrypting) takes time of its own, and the advisory
 * lock may be waited for: the rotation transaction's now() is that much before its commit.
 */
const PUBLICATION_MARGIN_SECONDS = 1;

/**
 * From the rotation's transaction start to the new key's activation. Instances publish a committed
 * next key at their next re-read (within KEY_REFRESH_SECONDS, plus the read itself), and the
 * first to re-read after activation starts signing: so every instance has published the key for
 * at least `publishAheadSeconds` (never less than JWKS_MAX_AGE) before any instance signs with it.
 */
export function publicationLeadSeconds(policy: Pick<KeyPolicy, 'jwksMaxAge' | 'keyRefreshSeconds'>, publishAheadSeconds = policy.jwksMaxAge): number {
  return Math.max(publishAheadSeconds, policy.jwksMaxAge) + policy.keyRefreshSeconds + PUBLICATION_MARGIN_SECONDS;
}

export class RotationPendingError extends Error {
  constructor(readonly kid: string, readonly activatesAt: Date) {
    super(`A rotation is already pending: key ${kid} becomes current at ${activatesAt.toISOString()}.`);
    this.name = 'RotationPendingError';
  }
}

/**
 * Publishes a new key as `next`; every instance publishes it for `activateAfterSeconds` (never
 * less than JWKS_MAX_AGE, so every verifier that honours the cache headers has seen it) before
 * any instance signs with it (publicationLeadSeconds).
 */
export async function rotateSigningKey(
  db: Kysely<AuthDatabase>,
  policy: KeyPolicy,
  options: { activateAfterSeconds?: number } = {},
): Promise<SigningKeyRow> {
  const delay = publicationLeadSeconds(policy, options.activateAfterSeconds);
  // Generated before the transaction: RSA generation takes up to seconds on a loaded machine, and
  // inside it that time came off the publication lead (activates_at counts from now(), the
  // transaction's start) and held the lock.
  const fresh = await generateSigningKey(policy.signingAlg);
  return db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    const pending = await findKeyInState(trx, 'next');
    if (pending) throw new RotationPendingError(pending.kid, pending.activates_at);
    const hasCurrent = (await findKeyInState(trx, 'current')) !== undefined;
    const row = await insertKeyRow(trx, policy, fresh, hasCurrent ? 'next' : 'current', hasCurrent ? delay : 0);
    await recordAudit(trx, { event: 'key_rotation', details: { kid: row.kid, alg: row.alg, state: row.state, activates_at: row.activates_at.toISOString() } });
    return row;
  });
}

/** Promotes a due next key and retires expired previous keys. Cheap when nothing is due. */
export async function promoteDueKeys(db: Kysely<AuthDatabase>, policy: Pick<KeyPolicy, 'accessTokenTtl' | 'keyRefreshSeconds'>): Promise<boolean> {
  if (!(await promotionDue(db))) return false;
  return db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    const activated = await activateNextKey(trx, retentionSeconds(policy));
    const retired = await retireExpiredKeys(trx);
    if (activated) await recordAudit(trx, { event: 'key_activated', details: { kid: activated.activated, previous: activated.deactivated ?? null } });
    return activated !== undefined || retired.length > 0;
  });
}

export class UnknownKeyError extends Error {
  constructor(readonly kid: string) {
    super(`no signing key with kid ${kid} (see authctl keys list)`);
    this.name = 'UnknownKeyError';
  }
}

export interface KeyRevocation {
  /** The revoked key's row, now retired with revoked_at set. */
  revoked: SigningKeyRow;
  /** Its state before this revocation. */
  stateBefore: SigningKeyRow['state'];
  /** True when it had been revoked before (revoking again only re-announces it). */
  alreadyRevoked: boolean;
  /** The key that became current because the revoked one was signing. */
  replacement: SigningKeyRow | undefined;
}

/**
 * Emergency rotation: `kid` never signs and is never published again, and when it was the current
 * key a new one is current from this transaction's commit on (no publication ahead: a compromised
 * key must stop at once, and verifiers refetch the JWKS for an unknown kid).
 */
export async function revokeSigningKey(db: Kysely<AuthDatabase>, policy: KeyPolicy, kid: string): Promise<KeyRevocation> {
  // Generated before the transaction (RSA generation can take a second): the lock is never held
  // that long, and unused when the revoked key was not the signing one.
  const fresh = await generateSigningKey(policy.signingAlg);
  return db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx);
    const before = await findKey(trx, kid);
    if (!before) throw new UnknownKeyError(kid);
    const revoked = await markKeyRevoked(trx, kid);
    const replacement = before.state === 'current' ? await insertKeyRow(trx, policy, fresh, 'current', 0) : undefined;
    await recordAudit(trx, { event: 'key_revoked', details: { kid, state: before.state, replaced_by: replacement?.kid ?? null } });
    return { revoked, stateBefore: before.state, alreadyRevoked: before.revoked_at !== null, replacement };
  });
}
