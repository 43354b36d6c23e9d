/** Test helpers: keys, a controllable in-memory JWKS endpoint, a verifier over it, and a token minter. */
import { generateKeyPair, exportJWK, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { KeyObject, randomUUID, sign } from 'node:crypto';
import type { Test } from 'tap';
import {
  createJwksClient,
  createTokenVerifier,
  importVerificationKey,
  TokenError,
  type JwksClient,
  type JwksClientOptions,
  type KeySource,
  type TokenVerifier,
  type TokenVerifierOptions,
  type VerificationKey,
} from '../src/index.js';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'api';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string, alg: 'RS256' | 'PS256' | 'ES256' | 'EdDSA' = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/** A fetch double serving a JWKS we control: swap keys, go down, count calls. */
export class FakeJwks {
  keys: JWK[] = [];
  down = false;
  calls = 0;
  etag = 1;
  /** Sent as Cache-Control: max-age=… when set, as the auth service does (JWKS_MAX_AGE). */
  maxAgeSeconds: number | undefined;

  constructor(...keys: TestKey[]) {
    this.keys = keys.map((key) => key.publicJwk);
  }

  set(...keys: TestKey[]): void {
    this.keys = keys.map((key) => key.publicJwk);
    this.etag += 1;
  }

  readonly fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    this.calls += 1;
    if (this.down) throw new TypeError('fetch failed');
    const tag = `"v${this.etag}"`;
    const caching: Record<string, string> = this.maxAgeSeconds === undefined ? {} : { 'cache-control': `public, max-age=${this.maxAgeSeconds}` };
    const ifNoneMatch = new Headers(init?.headers).get('if-none-match');
    if (ifNoneMatch === tag) return new Response(null, { status: 304, headers: { etag: tag, ...caching } });
    return new Response(JSON.stringify({ keys: this.keys }), { status: 200, headers: { 'content-type': 'application/json', etag: tag, ...caching } });
  }) as typeof fetch;
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

export interface MintOptions {
  header?: Record<string, unknown>;
  claims?: JWTPayload & Record<string, unknown>;
  /** Claim names to leave out. */
  omit?: string[];
}

export async function mint(key: TestKey, options: MintOptions = {}): Promise<string> {
  const now = nowSec();
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    role: 'user',
    sid: 'session-1',
    client_id: 'web',
    jti: randomUUID(),
    iat: now,
    exp: now + 900,
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...options.header } as never).sign(key.privateKey);
}

export function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signs any header/payload with an RS256 key by hand, for headers jose refuses to produce (crit). */
export function signRaw(key: TestKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), KeyObject.from(key.privateKey)).toString('base64url')}`;
}

export type JwksVerifierOptions = Partial<Omit<TokenVerifierOptions, 'keys'>> & Partial<Omit<JwksClientOptions, 'url' | 'fetch'>>;

/** The gateway's arrangement: a verifier whose key source is a JWKS client over `jwks`; both closed at teardown. */
export function jwksVerifier(t: Test, jwks: FakeJwks, options: JwksVerifierOptions = {}): { verifier: TokenVerifier; keys: JwksClient } {
  const { algorithms, refetchCooldownMs, refreshIntervalMs, timeoutMs, onEvent, ...rest } = options;
  const keys = createJwksClient({
    url: 'http://auth.test/.well-known/jwks.json',
    fetch: jwks.fetch,
    ...(algorithms ? { algorithms } : {}),
    ...(refetchCooldownMs !== undefined ? { refetchCooldownMs } : {}),
    ...(refreshIntervalMs !== undefined ? { refreshIntervalMs } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(onEvent ? { onEvent } : {}),
  });
  t.teardown(() => keys.close());
  const verifier = createTokenVerifier({ keys, issuer: ISSUER, audience: AUDIENCE, ...(algorithms ? { algorithms } : {}), ...rest });
  t.teardown(() => verifier.close());
  return { verifier, keys };
}

/** The code a verification was refused with ('accepted' when it was not). */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    return error instanceof TokenError ? error.code : `unexpected ${String(error)}`;
  }
}

/** A key source that is not HTTP (as auth's key store): a map we control. */
export class MemoryKeys implements KeySource {
  readonly keys = new Map<string, VerificationKey>();
  loaded = true;
  resolves = 0;

  constructor(...keys: VerificationKey[]) {
    for (const key of keys) this.keys.set(key.kid, key);
  }

  get(kid: string): VerificationKey | undefined {
    return this.keys.get(kid);
  }

  async resolve(kid: string): Promise<VerificationKey | undefined> {
    this.resolves += 1;
    return this.keys.get(kid);
  }
}

/** The verification key of a test key, as a key source holds it. */
export function verificationKeyOf(key: TestKey): VerificationKey {
  return importVerificationKey(key.kid, key.publicJwk, key.alg);
}
