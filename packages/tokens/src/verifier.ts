/**
 * The product's one access-token check (contract, "Access tokens", "Gateway" and "Authorization"),
 * used by the gateway and the auth service alike: canonical compact form, header rules, algorithm
 * pinned per kid by the key source, signature, issuer, audience, time claims with bounded skew,
 * required identity claims. Only the key source differs between callers (key-source.ts).
 *
 * Fast path: a token that passed every check is remembered (bounded LRU, keyed by the SHA-256 of
 * its exact text). A later request with the same token skips the parts whose answer cannot change —
 * parsing, header rules, signature, issuer, audience — but still checks, every time, that it
 * has not expired, is valid already, and that its key is still the one the source lists for its
 * kid (a key withdrawn from the source stops its cached tokens at once). Revocation is the
 * caller's check, also on every request.
 */
import { hash } from 'node:crypto';
import { DEFAULT_SIGNING_ALG, isSigningAlg, type SigningAlg } from './algorithms.js';
import { CLOCK_SKEW_SECONDS, readClaims, type AccessTokenClaims } from './claims.js';
import { parseCompact } from './compact.js';
import { tokenError } from './errors.js';
import { checkHeader } from './header.js';
import type { KeySource } from './key-source.js';
import { LruCache } from './lru-cache.js';
import { verifySignature, type VerificationKey } from './verification-key.js';

export interface TokenVerifierOptions {
  /** Where keys come from: a JWKS client (createJwksClient) or the issuer's own key store. */
  keys: KeySource;
  issuer: string;
  audience: string;
  /** Accepted algorithms (each key is further pinned to its source's alg). Default ['RS256']. */
  algorithms?: readonly SigningAlg[];
  /** Allowed clock skew for exp, nbf and iat, in seconds: 0 to 30, default 30. */
  clockToleranceSec?: number;
  /** Longest token accepted, in characters. Default 8192. */
  maxTokenLength?: number;
  /** Verified tokens remembered. Default 20000; 0 disables the fast path. */
  cacheSize?: number;
  /** Seconds since the epoch, for tests. */
  now?: () => number;
}

export interface TokenVerifier {
  /** Verified claims, or a rejection with a TokenError carrying a stable code. */
  verify(token: string): Promise<AccessTokenClaims>;
  /**
   * verify() for a hot path: the claims themselves, synchronously, when the token was verified
   * before (it is in the cache) and passes this call's time and key checks; a promise
   * only for a token that must be verified in full. A refusal on the fast path is thrown
   * synchronously (verify() turns it into a rejection).
   */
  check(token: string): AccessTokenClaims | Promise<AccessTokenClaims>;
  /** Numbers for metrics and tests. */
  stats(): { cachedTokens: number };
  /** Forgets every verified token. */
  close(): void;
}

interface CacheEntry {
  claims: AccessTokenClaims;
  key: VerificationKey;
  /** exp + tolerance, max(iat, nbf) - tolerance: precomputed for the hit path. */
  expiresAt: number;
  validFrom: number;
}

function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const tolerance = options.clockToleranceSec ?? CLOCK_SKEW_SECONDS;
  if (!(tolerance >= 0 && tolerance <= CLOCK_SKEW_SECONDS)) throw new RangeError(`clockToleranceSec must be between 0 and ${CLOCK_SKEW_SECONDS}`);
  const algorithms: readonly string[] = options.algorithms ?? [DEFAULT_SIGNING_ALG];
  for (const alg of algorithms) {
    if (!isSigningAlg(alg)) throw new RangeError(`unsupported algorithm ${alg}`);
  }
  const { keys, issuer, audience } = options;
  const maxLength = options.maxTokenLength ?? 8192;
  const now = options.now ?? (() => Date.now() / 1000);
  const cacheSize = options.cacheSize ?? 20_000;
  const cache = new LruCache<CacheEntry>(cacheSize);

  function checkTime(entry: CacheEntry, at: number): void {
    if (at >= entry.expiresAt) throw tokenError('expired', 'The token has expired.');
    if (at < entry.validFrom) throw tokenError('not_yet_valid', 'The token is not valid yet.');
  }

  async function verifyCold(token: string): Promise<CacheEntry> {
    const parts = parseCompact(token, maxLength);
    const { kid, alg } = checkHeader(parseJsonObject(parts.header));
    const key = keys.get(kid) ?? (await keys.resolve(kid));
    if (!key) {
      if (keys.refuses?.(kid)) throw tokenError('key_revoked', 'The token was signed with a revoked key.');
      if (!keys.loaded) throw tokenError('jwks_unavailable', 'The signing keys could not be loaded yet.');
      throw tokenError('kid_unknown', 'The token was signed with an unknown key.');
    }
    // Pinned per kid: the header may only repeat the source's algorithm (so "none" or HS256 never match).
    if (alg !== key.alg || !algorithms.includes(key.alg)) throw tokenError('alg_mismatch', 'The token alg does not match its key.');
    if (!verifySignature(key.alg, key.key, parts.signingInput, parts.signature)) {
      throw tokenError('signature_invalid', 'The token signature is invalid.');
    }
    const payload = parseJsonObject(parts.payload);
    if (!payload) throw tokenError('claims_invalid', 'The token payload is not a JSON object.');
    const claims = readClaims(payload, issuer, audience);
    return { claims, key, expiresAt: claims.exp + tolerance, validFrom: Math.max(claims.iat, claims.nbf ?? -Infinity) - tolerance };
  }

  /** The key still being the source's for its kid is part of every hit (a withdrawn key stops its tokens). */
  function keyStillListed(entry: CacheEntry): boolean {
    return keys.get(entry.key.kid) === entry.key;
  }

  /** The fast path: the claims on a hit, else (a string) the cache key the cold path stores the token under. */
  function lookup(token: string): AccessTokenClaims | string {
    if (token.length > maxLength) throw tokenError('token_too_large', `The token is longer than ${maxLength} characters.`);
    // Keyed by the token's SHA-256, not its text: ~45 bytes held per token instead of ~700, and
    // no slower, since looking up a fresh 700-character string costs V8 as much to hash.
    const cacheKey = hash('sha256', token, 'base64url');
    const hit = cache.get(cacheKey);
    if (!hit) return cacheKey;
    if (!keyStillListed(hit)) {
      // The key left the source (or was replaced): forget the token and judge it afresh.
      cache.delete(cacheKey);
      return cacheKey;
    }
    checkTime(hit, now());
    return hit.claims;
  }

  /** The full verification of a token the fast path did not know, stored under its cache key. */
  async function verifyNew(token: string, cacheKey: string): Promise<AccessTokenClaims> {
    const entry = await verifyCold(token);
    checkTime(entry, now());
    cache.set(cacheKey, entry);
    return entry.claims;
  }

  function check(token: string): AccessTokenClaims | Promise<AccessTokenClaims> {
    const found = lookup(token);
    return typeof found === 'string' ? verifyNew(token, found) : found;
  }

  return {
    check,
    async verify(token) {
      return check(token);
    },
    stats: () => ({ cachedTokens: cache.size }),
    close() {
      cache.clear();
    },
  };
}
