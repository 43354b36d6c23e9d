/**
 * The product's one access-token check (contract, "Access tokens" and "Gateway"): canonical
 * compact form, header rules, algorithm pinned per kid from the JWKS, signature, issuer,
 * audience, time claims with bounded skew, required identity claims.
 *
 * Fast path: a token that passed every check is remembered (bounded LRU, keyed by the SHA-256 of
 * its exact text). A later request with the same token skips the parts whose answer cannot change —
 * parsing, header rules, signature, issuer, audience — but still checks, every time, that it
 * has not expired, is valid already, and that its key is still the one the JWKS lists for its
 * kid (a key withdrawn from the JWKS stops its cached tokens at once). Revocation is the
 * caller's check, also on every request.
 *
 * A caller may also keep a TokenMemo per client connection: a client sends the same token on
 * every request of a keep-alive connection, and a memo that saw it before skips the digest and
 * the LRU too (an exact string comparison instead of a SHA-256 and two Map operations, a few µs of
 * the gateway's per-request CPU), with the same per-request checks.
 */
import { hash } from 'node:crypto';
import { SUPPORTED_ALGORITHMS, verifySignature, type Algorithm } from './algorithms.js';
import { LruCache } from './cache.js';
import { parseCompact } from './compact.js';
import { TokenError, tokenError } from './errors.js';
import { JwksCache, type JwksEvent, type VerificationKey } from './jwks.js';

/** The claims of a verified access token (RFC 9068 plus the contract's role and sid). Frozen. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly nbf?: number;
  readonly jti: string;
  readonly role: string;
  /** The session; absent for client_credentials tokens. */
  readonly sid?: string;
  readonly client_id?: string;
  readonly scope?: string;
}

export interface TokenVerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** Accepted algorithms (each key is further pinned to its JWKS alg). Default ['RS256']. */
  algorithms?: readonly Algorithm[];
  /** Allowed clock skew for exp, nbf and iat, in seconds: 0 to 30, default 30. */
  clockToleranceSec?: number;
  /** Longest token accepted, in characters. Default 8192. */
  maxTokenLength?: number;
  /** Verified tokens remembered. Default 20000; 0 disables the fast path. */
  cacheSize?: number;
  refetchCooldownMs?: number;
  refreshIntervalMs?: number;
  fetchTimeoutMs?: number;
  /** Seconds since the epoch, for tests. */
  now?: () => number;
  onJwksEvent?: (event: JwksEvent) => void;
}

/** The last token verified through it, for one client connection. Opaque; make one with createMemo(). */
export interface TokenMemo {
  readonly [memoBrand]: true;
}
declare const memoBrand: unique symbol;

export interface TokenVerifier {
  /** Verified claims, or a rejection with a TokenError carrying a stable code. */
  verify(token: string, memo?: TokenMemo): Promise<AccessTokenClaims>;
  /**
   * verify() for a hot path: the claims themselves, synchronously, when the token was verified
   * before (through `memo` or in the cache) and passes this call's time and key checks; a promise
   * only for a token that must be verified in full. A refusal on the fast path is thrown
   * synchronously (verify() turns it into a rejection).
   */
  check(token: string, memo?: TokenMemo): AccessTokenClaims | Promise<AccessTokenClaims>;
  createMemo(): TokenMemo;
  /** Loads the JWKS for the first time and starts the background refresh; resolves false if the first load failed. */
  start(): Promise<boolean>;
  /** Fetches the JWKS now (joining a fetch in flight); resolves false when it failed and the old keys stay. */
  refresh(): Promise<boolean>;
  /** True once the JWKS has been loaded at least once. */
  readonly jwksLoaded: boolean;
  /** Numbers for metrics and tests. */
  stats(): { cachedTokens: number; keys: number; jwksFetches: number };
  close(): void;
}

interface MemoState {
  token: string | undefined;
  entry: CacheEntry | undefined;
}

interface CacheEntry {
  claims: AccessTokenClaims;
  key: VerificationKey;
  /** exp + tolerance, nbf - tolerance, iat - tolerance: precomputed for the hit path. */
  expiresAt: number;
  validFrom: number;
}

const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64', 'zip'];
const KID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Header-safe identity values: visible ASCII without comma (the gateway forwards them as headers). */
const IDENTITY_PATTERN = /^[\x21-\x2b\x2d-\x7e]{1,256}$/;
const MAX_SKEW_SEC = 30;

function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function checkHeader(header: Record<string, unknown> | undefined): { kid: string; alg: string } {
  if (!header) throw tokenError('header_invalid', 'The token header is not a JSON object.');
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header) throw tokenError('header_forbidden', `The token header member "${name}" is not accepted.`);
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string') throw tokenError('header_invalid', 'The token header has no alg.');
  if (typeof kid !== 'string') throw tokenError('header_invalid', 'The token header has no kid.');
  if (!KID_PATTERN.test(kid) || kid.includes('..')) throw tokenError('kid_invalid', 'The token kid is not a key id.');
  // RFC 9068 §4: typ is at+jwt; media-type rules allow the application/ prefix and any case.
  const type = typeof typ === 'string' ? typ.toLowerCase() : '';
  if (type !== 'at+jwt' && type !== 'application/at+jwt') throw tokenError('typ_invalid', 'The token typ is not at+jwt.');
  return { kid, alg };
}

function requiredString(payload: Record<string, unknown>, name: string, pattern?: RegExp): string {
  const value = payload[name];
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
    throw tokenError('claims_invalid', `The token claim "${name}" is missing or invalid.`);
  }
  return value;
}

function optionalString(payload: Record<string, unknown>, name: string, pattern?: RegExp): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
    throw tokenError('claims_invalid', `The token claim "${name}" is invalid.`);
  }
  return value;
}

function numericDate(payload: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const value = payload[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw tokenError('claims_invalid', `The token claim "${name}" is missing or not a number.`);
  return value;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const tolerance = options.clockToleranceSec ?? MAX_SKEW_SEC;
  if (!(tolerance >= 0 && tolerance <= MAX_SKEW_SEC)) throw new RangeError(`clockToleranceSec must be between 0 and ${MAX_SKEW_SEC}`);
  const algorithms = options.algorithms ?? ['RS256'];
  for (const alg of algorithms) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) throw new RangeError(`unsupported algorithm ${alg}`);
  }
  const maxLength = options.maxTokenLength ?? 8192;
  const now = options.now ?? (() => Date.now() / 1000);
  const cacheSize = options.cacheSize ?? 20_000;
  const cache = new LruCache<CacheEntry>(cacheSize);
  const jwks = new JwksCache({
    url: options.jwksUrl,
    fetch: options.fetch,
    algorithms,
    refetchCooldownMs: options.refetchCooldownMs ?? 10_000,
    refreshIntervalMs: options.refreshIntervalMs ?? 300_000,
    timeoutMs: options.fetchTimeoutMs ?? 5_000,
    onEvent: options.onJwksEvent,
  });

  function checkTime(entry: CacheEntry, at: number): void {
    if (at >= entry.expiresAt) throw tokenError('expired', 'The token has expired.');
    if (at < entry.validFrom) throw tokenError('not_yet_valid', 'The token is not valid yet.');
  }

  async function verifyCold(token: string): Promise<CacheEntry> {
    const parts = parseCompact(token, maxLength);
    const { kid, alg } = checkHeader(parseJsonObject(parts.header));
    let key = jwks.get(kid);
    if (!key) {
      if (!jwks.loaded) await jwks.resolve(kid);
      if (!jwks.loaded) throw tokenError('jwks_unavailable', 'The signing keys could not be loaded yet.');
      key = await jwks.resolve(kid);
      if (!key) throw tokenError('kid_unknown', 'The token was signed with an unknown key.');
    }
    // Pinned per kid: the header may only repeat the JWKS's algorithm (so "none" or HS256 never match).
    if (alg !== key.alg) throw tokenError('alg_mismatch', 'The token alg does not match its key.');
    if (!verifySignature(key.alg, key.key, parts.signingInput, parts.signature)) {
      throw tokenError('signature_invalid', 'The token signature is invalid.');
    }
    const payload = parseJsonObject(parts.payload);
    if (!payload) throw tokenError('claims_invalid', 'The token payload is not a JSON object.');
    if (payload.iss !== options.issuer) throw tokenError('issuer_invalid', 'The token issuer is not accepted.');
    const aud = payload.aud;
    const audienceOk = aud === options.audience || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string') && aud.includes(options.audience));
    if (!audienceOk) throw tokenError('audience_invalid', 'The token audience is not accepted.');
    const exp = numericDate(payload, 'exp', true)!;
    const iat = numericDate(payload, 'iat', true)!;
    const nbf = numericDate(payload, 'nbf', false);
    const claims: AccessTokenClaims = Object.freeze({
      iss: options.issuer,
      sub: requiredString(payload, 'sub', IDENTITY_PATTERN),
      aud: Array.isArray(aud) ? Object.freeze([...(aud as string[])]) : options.audience,
      exp,
      iat,
      ...(nbf === undefined ? {} : { nbf }),
      jti: requiredString(payload, 'jti'),
      role: requiredString(payload, 'role', IDENTITY_PATTERN),
      ...optionalClaims(payload),
    });
    return { claims, key, expiresAt: exp + tolerance, validFrom: Math.max(iat, nbf ?? -Infinity) - tolerance };
  }

  function optionalClaims(payload: Record<string, unknown>): Partial<AccessTokenClaims> {
    const out: { sid?: string; client_id?: string; scope?: string } = {};
    const sid = optionalString(payload, 'sid');
    const clientId = optionalString(payload, 'client_id');
    const scope = typeof payload.scope === 'string' ? payload.scope : undefined;
    if (sid !== undefined) out.sid = sid;
    if (clientId !== undefined) out.client_id = clientId;
    if (scope !== undefined) out.scope = scope;
    return out;
  }

  /** The key still being the JWKS's for its kid is part of every hit (a withdrawn key stops its tokens). */
  function keyStillListed(entry: CacheEntry): boolean {
    return jwks.get(entry.key.kid) === entry.key;
  }

  function remember(memo: TokenMemo | undefined, token: string, entry: CacheEntry): void {
    // cacheSize 0 turns the whole fast path off, memos included.
    if (!memo || cacheSize === 0) return;
    const state = memo as unknown as MemoState;
    state.token = token;
    state.entry = entry;
  }

  /** The fast path: the claims on a hit, else (a string) the cache key the cold path stores the token under. */
  function lookup(token: string, memo: TokenMemo | undefined): AccessTokenClaims | string {
    if (token.length > maxLength) throw tokenError('token_too_large', `The token is longer than ${maxLength} characters.`);
    const at = now();
    const state = memo as unknown as MemoState | undefined;
    if (state?.entry !== undefined && state.token === token) {
      if (keyStillListed(state.entry)) {
        checkTime(state.entry, at);
        return state.entry.claims;
      }
      state.token = undefined;
      state.entry = undefined;
    }
    // Keyed by the token's SHA-256, not its text: ~45 bytes held per token instead of ~700, and
    // no slower, since looking up a fresh 700-character string costs V8 as much to hash.
    const cacheKey = hash('sha256', token, 'base64url');
    const hit = cache.get(cacheKey);
    if (!hit) return cacheKey;
    if (!keyStillListed(hit)) {
      // The key left the JWKS (or was replaced): forget the token and judge it afresh.
      cache.delete(cacheKey);
      return cacheKey;
    }
    checkTime(hit, at);
    remember(memo, token, hit);
    return hit.claims;
  }

  /** The full verification of a token the fast path did not know, stored under its cache key. */
  async function verifyNew(token: string, cacheKey: string, memo: TokenMemo | undefined): Promise<AccessTokenClaims> {
    const entry = await verifyCold(token);
    checkTime(entry, now());
    cache.set(cacheKey, entry);
    remember(memo, token, entry);
    return entry.claims;
  }

  function check(token: string, memo?: TokenMemo): AccessTokenClaims | Promise<AccessTokenClaims> {
    const found = lookup(token, memo);
    return typeof found === 'string' ? verifyNew(token, found, memo) : found;
  }

  return {
    check,
    async verify(token, memo) {
      return check(token, memo);
    },
    createMemo: () => ({ token: undefined, entry: undefined }) as unknown as TokenMemo,
    start: () => jwks.start(),
    refresh: () => jwks.refresh(),
    get jwksLoaded() {
      return jwks.loaded;
    },
    stats: () => ({ cachedTokens: cache.size, keys: jwks.size, jwksFetches: jwks.fetches }),
    close() {
      jwks.close();
      cache.clear();
    },
  };
}

export { TokenError };
