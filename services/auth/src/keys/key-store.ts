/**
 * Each instance's view of the signing keys: re-read from PostgreSQL every KEY_REFRESH_SECONDS
 * (so a rotation by the CLI or another instance is picked up without a restart), promoting due
 * keys on the way. Private keys are decrypted once per kid and kept only in memory.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { JWK } from 'jose';
import { buildJwks, decryptPrivateKey, importVerificationKey, type SigningKey, type VerificationKey } from '@keygate/tokens';
import { listPublishedKeys } from '../repositories/signing-keys.js';
import type { AuthDatabase } from '../repositories/schema.js';
import { ensureCurrentKey, promoteDueKeys, type KeyPolicy } from './rotation.js';

/** An unknown kid triggers at most one re-read per this many milliseconds. */
const UNKNOWN_KID_COOLDOWN_MS = 1_000;

export interface JwksSnapshot {
  body: string;
  etag: string;
}

export class KeyStore {
  private signing: SigningKey | undefined;
  private verification = new Map<string, VerificationKey>();
  private decrypted = new Map<string, SigningKey>();
  private snapshot: JwksSnapshot = KeyStore.toSnapshot([]);
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private lastForced = 0;

  constructor(
    private readonly db: Kysely<AuthDatabase>,
    private readonly policy: KeyPolicy,
    private readonly log: FastifyBaseLogger,
  ) {}

  private static toSnapshot(keys: { kid: string; alg: string; publicJwk: JWK }[]): JwksSnapshot {
    const body = JSON.stringify(buildJwks(keys));
    return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
  }

  /** Creates the first key if needed, loads keys, and starts the periodic re-read. */
  async start(): Promise<void> {
    const { created, kid } = await ensureCurrentKey(this.db, this.policy);
    if (created) this.log.info({ kid }, 'created the first signing key');
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log.error({ err }, 'signing key refresh failed'));
    }, this.policy.keyRefreshSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the keys now (one read at a time; concurrent callers share it). */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    await promoteDueKeys(this.db, this.policy);
    const rows = await listPublishedKeys(this.db);
    const verification = new Map<string, VerificationKey>();
    let signing: SigningKey | undefined;
    for (const row of rows) {
      verification.set(row.kid, this.verification.get(row.kid) ?? (await importVerificationKey(row.public_jwk as JWK, row.alg)));
      if (row.state === 'current') {
        signing = this.decrypted.get(row.kid) ?? (await decryptPrivateKey(row.private_key_sealed, this.policy.keyEncryptionKey, row.kid, row.alg));
      }
    }
    this.verification = verification;
    this.decrypted = signing ? new Map([[signing.kid, signing]]) : new Map();
    if (signing?.kid !== this.signing?.kid) this.log.info({ kid: signing?.kid }, 'signing with key');
    this.signing = signing;
    this.snapshot = KeyStore.toSnapshot(rows.map((row) => ({ kid: row.kid, alg: row.alg, publicJwk: row.public_jwk as JWK })));
  }

  /** The one current signing key; undefined only before the first load. */
  signingKey(): SigningKey | undefined {
    return this.signing;
  }

  /** The verification key of a published kid; an unknown kid re-reads the keys (rate limited). */
  async lookup(kid: string): Promise<VerificationKey | undefined> {
    const known = this.verification.get(kid);
    if (known) return known;
    const now = Date.now();
    if (now - this.lastForced < UNKNOWN_KID_COOLDOWN_MS) return undefined;
    this.lastForced = now;
    await this.refresh();
    return this.verification.get(kid);
  }

  jwks(): JwksSnapshot {
    return this.snapshot;
  }
}
