/** Test helpers: RSA keys, a controllable in-memory JWKS endpoint, and a token minter. */
import { generateKeyPair, exportJWK, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { KeyObject, randomUUID, sign } from 'node:crypto';

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
    const ifNoneMatch = new Headers(init?.headers).get('if-none-match');
    if (ifNoneMatch === tag) return new Response(null, { status: 304, headers: { etag: tag } });
    return new Response(JSON.stringify({ keys: this.keys }), { status: 200, headers: { 'content-type': 'application/json', etag: tag } });
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
