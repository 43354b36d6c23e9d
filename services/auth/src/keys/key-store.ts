/**
 * Each instance's view of the signing keys: re-read from PostgreSQL every KEY_REFRESH_SECONDS
 * (so a rotation by the CLI or another instance is picked up without a restart), promoting due
 * keys on the way. Private keys are decrypted once per kid and kept only in memory.
 *
 * It is also the key source of the service's access-token verifier (@keygate/tokens' KeySource):
 * auth verifies its own tokens with the gateway's verifier and rules, reading the published keys
 * from here instead of over HTTP. A key that leaves the published set stops verifying at once.
 *
 * A key revocation (`authctl keys revoke`, announced on the revocations channel) is not left to
 * the next re-read: on the message the keys are re-read at once, so this instance stops
 * publishing and signing with the revoked key and signs with its replacement within
 * milliseconds. A missed message (Redis away) is caught by the re-read after resubscribing, and
 * at the latest by the periodic one.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { JWK } from 'jose';
import {
  SIGNING_ALGS,
  buildJwks,
  createTokenVerifier,
  decryptPrivateKey,
  importVerificationKey,
  type AccessTokenClaims,
  type KeySource,
  type SigningKey,
  type TokenVerifier,
  type VerificationKey,
} from '@keygate/tokens';
import type { Bus } from '@keygate/bus';
import { REVOCATION_CHANNEL } from '@keygate/revocation';
import { isKeyRevocationMessage } from '../revocations/service.js';
import { listPublishedKeys } from './repository.js';
import type { AuthDatabase } from '../db/schema.js';
import { ensureCurrentKey, promoteDueKeys, type KeyPolicy } from './rotation.js';

/** An unknown kid triggers at most one re-read per this many milliseconds. */
const UNKNOWN_KID_COOLDOWN_MS = 1_000;

export interface JwksSnapshot {
  body: string;
  etag: string;
}

export class KeyStore implements KeySource {
  private signing: SigningKey | undefined;
  private verification = new Map<string, VerificationKey>();
  private decrypted = new Map<string, SigningKey>();
  private snapshot: JwksSnapshot = KeyStore.toSnapshot([]);
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private lastForced = 0;
  private readonly verifier: TokenVerifier;
  private keysRead = false;
  private unsubscribe: (() => Promise<void>) | undefined;
  private removeResubscribed: (() => void) | undefined;

  /** `bus`: hear key revocations at once (absent in one-shot tools). */
  constructor(
    private readonly db: Kysely<AuthDatabase>,
    private readonly policy: KeyPolicy & { issuer: string; audience: string },
    private readonly log: FastifyBaseLogger,
    private readonly bus?: Bus,
  ) {
    // Every algorithm the service may sign with: each key is still pinned to its own.
    this.verifier = createTokenVerifier({ keys: this, issuer: policy.issuer, audience: policy.audience, algorithms: SIGNING_ALGS });
  }

  private static toSnapshot(keys: { kid: string; alg: string; publicJwk: JWK }[]): JwksSnapshot {
    const body = JSON.stringify(buildJwks(keys));
    return { body, etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
  }

  /** Creates the first key if needed, loads keys, and starts the periodic re-read. */
  async start(): Promise<void> {
    const { created, kid } = await ensureCurrentKey(this.db, this.policy);
    if (created) this.log.info({ kid }, 'created the first signing key');
    await this.listen();
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log.error({ err }, 'signing key refresh failed'));
    }, this.policy.keyRefreshSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.verifier.close();
    this.removeResubscribed?.();
    void this.unsubscribe?.().catch(() => {});
    this.unsubscribe = undefined;
  }

  /** Re-reads the keys now (one read at a time; concurrent callers share it). */
  refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** A read that starts after now: one in flight may have read the keys before the change. */
  private reloadAfterChange(why: string): void {
    const reload = async () => {
      await this.inflight?.catch(() => {});
      await this.refresh();
    };
    reload().catch((err: unknown) => this.log.error({ err, why }, 'signing key reload failed'));
  }

  private async listen(): Promise<void> {
    const { bus } = this;
    if (!bus || this.unsubscribe) return;
    this.removeResubscribed = bus.onResubscribed(() => this.reloadAfterChange('resubscribed'));
    this.unsubscribe = await bus
      .subscribe(REVOCATION_CHANNEL, (message) => {
        if (isKeyRevocationMessage(message)) this.reloadAfterChange('key revoked');
      })
      .catch((err: unknown) => {
        // Redis unreachable at start: its reconnect resubscribes, and the periodic re-read covers the gap.
        this.log.warn({ err }, 'could not subscribe to key revocations yet');
        return undefined;
      });
  }

  private async load(): Promise<void> {
    await promoteDueKeys(this.db, this.policy);
    const rows = await listPublishedKeys(this.db);
    const verification = new Map<string, VerificationKey>();
    let signing: SigningKey | undefined;
    for (const row of rows) {
      // The same object for an unchanged kid, so the verifier's cached tokens stay valid.
      verification.set(row.kid, this.verification.get(row.kid) ?? importVerificationKey(row.kid, row.public_jwk, row.alg));
      if (row.state === 'current') {
        signing = this.decrypted.get(row.kid) ?? (await decryptPrivateKey(row.private_key_sealed, this.policy.keyEncryptionKey, row.kid, row.alg));
      }
    }
    this.verification = verification;
    this.decrypted = signing ? new Map([[signing.kid, signing]]) : new Map();
    if (signing?.kid !== this.signing?.kid) this.log.info({ kid: signing?.kid }, 'signing with key');
    this.signing = signing;
    this.snapshot = KeyStore.toSnapshot(rows.map((row) => ({ kid: row.kid, alg: row.alg, publicJwk: row.public_jwk as JWK })));
    this.keysRead = true;
  }

  /** True once the keys were read: the verifier answers `jwks_unavailable` before. */
  get loaded(): boolean {
    return this.keysRead;
  }

  /** The one current signing key; undefined only before the first load. */
  signingKey(): SigningKey | undefined {
    return this.signing;
  }

  /** The verification key of a published kid, as last read. */
  get(kid: string): VerificationKey | undefined {
    return this.verification.get(kid);
  }

  /** The verification key of a published kid; an unknown kid re-reads the keys (rate limited). */
  async resolve(kid: string): Promise<VerificationKey | undefined> {
    const known = this.verification.get(kid);
    if (known) return known;
    const now = Date.now();
    if (now - this.lastForced < UNKNOWN_KID_COOLDOWN_MS) return undefined;
    this.lastForced = now;
    await this.refresh();
    return this.verification.get(kid);
  }

  /** An access token's claims, verified by the shared rules against the published keys; rejects with a TokenError. */
  verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    return this.verifier.verify(token);
  }

  jwks(): JwksSnapshot {
    return this.snapshot;
  }
}
