/**
 * A key source over HTTP: the issuer's public keys, fetched from its JWKS and kept in memory (the
 * gateway's; see key-source.ts). Verification never waits
 * on the network except for a kid it has not seen, and then at most once per cooldown (so a
 * stream of forged kids cannot turn the gateway into a JWKS flooder). A failed fetch keeps the
 * keys already loaded: the auth service being down does not stop verification. A background
 * timer refreshes the set (retrying quickly until the first load succeeds) so rotated keys,
 * which the issuer publishes before it signs with them, are usually known before first use.
 *
 * A revoked key (revokeKey(): a compromised key, announced on the revocation channel) is dropped at
 * once and ignored in every JWKS until its refusal ends, so a stale JWKS (an issuer instance that
 * has not reloaded yet, an HTTP cache) cannot bring it back; the set is refetched at once, and
 * again shortly after, to learn the key that replaced it.
 */
import { DEFAULT_SIGNING_ALG, isSigningAlg, type SigningAlg } from './algorithms.js';
import { isKeyId, type KeySource } from './key-source.js';
import { publicKeyFor, type VerificationKey } from './verification-key.js';

interface LoadedKey extends VerificationKey {
  /** The public material and alg as text: an unchanged key keeps its object across refreshes. */
  fingerprint: string;
}

export type JwksEvent =
  | { type: 'loaded'; keys: number; kids: string[] }
  | { type: 'not_modified' }
  | { type: 'fetch_failed'; reason: string }
  | { type: 'key_ignored'; kid: string | undefined; reason: string };

export interface JwksClientOptions {
  url: string;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** Algorithms accepted at all; keys pinned to anything else are ignored. Default ['RS256'], as the verifier's. */
  algorithms?: readonly SigningAlg[];
  /** Minimum time between fetches triggered by an unknown kid. Default 10 s. */
  refetchCooldownMs?: number;
  /** Background refresh period once loaded. Default 5 min. */
  refreshIntervalMs?: number;
  /** Default 5 s. */
  timeoutMs?: number;
  onEvent?: (event: JwksEvent) => void;
}

export interface JwksClient extends KeySource {
  /** First load now, then periodic refreshes until close(); resolves false if the first load failed. */
  start(): Promise<boolean>;
  /** Fetches the JWKS now (joining a fetch in flight); resolves false when it failed and the old keys stay. */
  refresh(): Promise<boolean>;
  /**
   * A compromised key: refuses `kid` until `untilMs` (epoch ms) whatever a JWKS still lists; its
   * key is dropped now, so tokens verified with it before stop at once (`key_revoked`), and the
   * JWKS is refetched to learn its replacement. Idempotent: true only when kid was not refused yet.
   */
  revokeKey(kid: string, untilMs: number): boolean;
  /** Numbers for metrics and tests. */
  stats(): { keys: number; fetches: number };
  close(): void;
}

export function createJwksClient(options: JwksClientOptions): JwksClient {
  return new JwksCache({
    url: options.url,
    fetch: options.fetch ?? globalThis.fetch,
    algorithms: options.algorithms ?? [DEFAULT_SIGNING_ALG],
    refetchCooldownMs: options.refetchCooldownMs ?? 10_000,
    refreshIntervalMs: options.refreshIntervalMs ?? 300_000,
    timeoutMs: options.timeoutMs ?? 5_000,
    onEvent: options.onEvent,
  });
}

const MAX_JWKS_BYTES = 256 * 1024;
const MAX_KEYS = 64;
const FIRST_LOAD_RETRY_MS = 1_000;
/** The shortest background refresh a JWKS's max-age can ask for (max-age=0 must not mean a loop). */
const MIN_REFRESH_MS = 1_000;

/** The max-age of a Cache-Control header, in ms; undefined without one. */
function maxAgeMs(cacheControl: string | null): number | undefined {
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,9})"?\s*(?:,|$)/i.exec(cacheControl ?? '');
  return match ? Number(match[1]) * 1000 : undefined;
}
/**
 * After a key revocation the JWKS is refetched at once and again this much later: the first fetch
 * may reach an issuer instance that has not yet switched to the replacement key.
 */
const REVOCATION_REFETCH_MS = 1_000;

class JwksCache implements JwksClient {
  private keys = new Map<string, LoadedKey>();
  private etag: string | undefined;
  private inFlight: Promise<boolean> | undefined;
  private lastFetchStartedAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private failures = 0;
  /** The JWKS's own Cache-Control max-age: the issuer publishes a new key at least that long before it signs with it. */
  private documentMaxAgeMs: number | undefined;
  /** Revoked kid → epoch ms until which it is refused whatever a JWKS says. */
  private readonly refused = new Map<string, number>();
  private revocationTimer: NodeJS.Timeout | undefined;
  /** True once a fetch has succeeded; until then nothing can be verified. */
  loaded = false;
  private fetches = 0;

  constructor(private readonly options: Required<Omit<JwksClientOptions, 'onEvent'>> & Pick<JwksClientOptions, 'onEvent'>) {}

  get(kid: string): VerificationKey | undefined {
    return this.keys.get(kid);
  }

  stats(): { keys: number; fetches: number } {
    return { keys: this.keys.size, fetches: this.fetches };
  }

  /** True while kid is refused (revoked). Forgets refusals that have ended. */
  refuses(kid: string, now = Date.now()): boolean {
    if (this.refused.size === 0) return false;
    const until = this.refused.get(kid);
    if (until === undefined) return false;
    if (until > now) return true;
    this.refused.delete(kid);
    // The document was parsed without this kid: the next fetch must read it whole, not get a 304.
    this.etag = undefined;
    return false;
  }

  /**
   * Refuses kid until untilMs: its key is dropped now and ignored in every JWKS until then. A new
   * refusal refetches the JWKS now and once more shortly after, and lets the next unknown kid
   * refetch without waiting for the cooldown: the replacement key is signing already.
   */
  revokeKey(kid: string, untilMs: number, now = Date.now()): boolean {
    if (untilMs <= now) return false;
    if (this.refuses(kid, now)) {
      this.refused.set(kid, Math.max(this.refused.get(kid)!, untilMs));
      return false;
    }
    this.refused.set(kid, untilMs);
    this.keys.delete(kid);
    const refetch = () => {
      this.lastFetchStartedAt = -Infinity;
      void this.refresh().then(() => {
        this.lastFetchStartedAt = -Infinity;
      });
    };
    refetch();
    if (this.revocationTimer) clearTimeout(this.revocationTimer);
    this.revocationTimer = setTimeout(refetch, REVOCATION_REFETCH_MS);
    this.revocationTimer.unref();
    return true;
  }

  /** The key for kid, refetching the JWKS first when kid is unknown and the cooldown has passed. */
  async resolve(kid: string): Promise<VerificationKey | undefined> {
    const known = this.keys.get(kid);
    if (known) return known;
    // A revoked kid never costs a fetch: the cooldown is kept for the key that replaced it.
    if (this.refuses(kid)) return undefined;
    if (this.inFlight) await this.inFlight;
    else if (Date.now() - this.lastFetchStartedAt >= this.options.refetchCooldownMs) await this.refresh();
    return this.keys.get(kid);
  }

  /** Fetches the JWKS once (joining a fetch in flight). Resolves true on success; never rejects. */
  refresh(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (!this.inFlight) {
      this.lastFetchStartedAt = Date.now();
      this.inFlight = this.fetchOnce().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  start(): Promise<boolean> {
    const first = this.refresh();
    void first.then(() => this.schedule());
    return first;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.revocationTimer) clearTimeout(this.revocationTimer);
  }

  private schedule(): void {
    if (this.closed) return;
    // Refreshed as often as the issuer's max-age says, at most every refreshIntervalMs: an issuer
    // that publishes a key max-age ahead of using it (keygate does) is then never ahead of us, and
    // the unknown-kid refetch (limited by its cooldown) is only the fallback.
    const delay = this.loaded
      ? Math.min(this.options.refreshIntervalMs, Math.max(MIN_REFRESH_MS, this.documentMaxAgeMs ?? Infinity))
      : Math.min(FIRST_LOAD_RETRY_MS * 2 ** Math.min(this.failures, 5), this.options.refreshIntervalMs);
    this.timer = setTimeout(() => {
      void this.refresh().then(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  private async fetchOnce(): Promise<boolean> {
    this.fetches += 1;
    const fetchImpl = this.options.fetch;
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.etag && this.loaded) headers['if-none-match'] = this.etag;
      const response = await fetchImpl(this.options.url, { headers, signal: AbortSignal.timeout(this.options.timeoutMs), redirect: 'error' });
      if (response.status === 200 || response.status === 304) this.documentMaxAgeMs = maxAgeMs(response.headers.get('cache-control'));
      if (response.status === 304 && this.loaded) {
        this.failures = 0;
        this.options.onEvent?.({ type: 'not_modified' });
        return true;
      }
      if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS document too large');
      const keys = this.parse(JSON.parse(text) as unknown);
      this.keys = keys;
      this.etag = response.headers.get('etag') ?? undefined;
      this.loaded = true;
      this.failures = 0;
      this.options.onEvent?.({ type: 'loaded', keys: keys.size, kids: [...keys.keys()] });
      return true;
    } catch (error) {
      this.failures += 1;
      this.options.onEvent?.({ type: 'fetch_failed', reason: error instanceof Error ? error.message : String(error) });
      return false;
    }
  }

  private parse(document: unknown): Map<string, LoadedKey> {
    const list = (document as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) throw new Error('JWKS document has no "keys" array');
    const keys = new Map<string, LoadedKey>();
    for (const entry of list.slice(0, MAX_KEYS)) {
      const jwk = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
      const ignore = (reason: string) => this.options.onEvent?.({ type: 'key_ignored', kid, reason });
      if (kid === undefined || !isKeyId(kid)) {
        ignore('missing or unusable kid');
        continue;
      }
      if (this.refuses(kid)) {
        ignore('revoked');
        continue;
      }
      if (jwk.use !== undefined && jwk.use !== 'sig') {
        ignore('use is not sig');
        continue;
      }
      if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) {
        ignore('key_ops lacks verify');
        continue;
      }
      // The JWKS must say which algorithm a key is for: guessing it from kty is how confusion starts.
      if (!isSigningAlg(jwk.alg) || !this.options.algorithms.includes(jwk.alg)) {
        ignore(`alg ${String(jwk.alg)} is not accepted`);
        continue;
      }
      if (keys.has(kid)) {
        ignore('duplicate kid');
        continue;
      }
      const fingerprint = [jwk.alg, jwk.kty, jwk.n, jwk.e, jwk.crv, jwk.x, jwk.y].map((part) => (typeof part === 'string' ? part : '')).join('|');
      const previous = this.keys.get(kid);
      // Same key as before: keep the object, so tokens cached against it stay valid (see verifier).
      if (previous && previous.fingerprint === fingerprint) {
        keys.set(kid, previous);
        continue;
      }
      const key = publicKeyFor(jwk, jwk.alg);
      if (typeof key === 'string') {
        ignore(key);
        continue;
      }
      keys.set(kid, { kid, fingerprint, alg: jwk.alg, key });
    }
    return keys;
  }
}
