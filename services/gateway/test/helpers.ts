/**
 * Test rig for the gateway over real HTTP: a fake auth service (JWKS we control + an echo of
 * /auth, /oauth, /admin), echo upstreams for orders/notifications that check the gateway proof
 * with @keygate/gateway-trust, token minting with jose, and a raw HTTP client that sends paths
 * and headers exactly as written (fetch would normalise them).
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { GATEWAY_CALLER_ROLE, gatewayTrust, type GatewayUser } from '@keygate/gateway-trust';
import { errorsPlugin } from '@keygate/service-kit';
import { createTestEnvironment } from '@keygate/testing';
import { firstPartySessionScope } from '@keygate/tokens';
import { build, type GatewayDeps } from '../src/app.js';
import { loadConfig } from '../src/config.js';

export const AUDIENCE = 'api';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function makeKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface Echo {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  user?: GatewayUser | null;
}

export interface Upstream {
  app: FastifyInstance;
  url: string;
  /** Requests received, newest last. */
  seen: Echo[];
  /** Delay before answering, to provoke timeouts. */
  delayMs: number;
  close(): Promise<void>;
}

/** What the fake auth service answers on GET /internal/revocations: the list, or null for a 503 (its database is down). */
export type InternalRevocations = Array<{ member: string; until: number }> | null;

/**
 * An upstream echoing what it received; with `secret`, it also insists on a valid gateway proof.
 * With `internal`, it plays auth's GET /internal/revocations and /internal/cors-origins (gateway's own proof required).
 */
export async function startUpstream(
  options: {
    secret?: Buffer;
    jwks?: () => { keys: JWK[] };
    internal?: { secret: Buffer; revocations: () => InternalRevocations; calls: () => void; corsOrigins?: () => string[] | null };
  } = {},
): Promise<Upstream> {
  const app = Fastify();
  await app.register(errorsPlugin);
  const state = { seen: [] as Echo[], delayMs: 0 };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  if (options.jwks) {
    const jwks = options.jwks;
    app.get('/.well-known/jwks.json', async (_request, reply) => reply.header('cache-control', 'public, max-age=60').send(jwks()));
  }
  if (options.internal) {
    const internal = options.internal;
    await app.register(async (scope) => {
      await scope.register(gatewayTrust, { secret: internal.secret });
      scope.get('/internal/revocations', async (request, reply) => {
        internal.calls();
        if (request.user.role !== GATEWAY_CALLER_ROLE) return reply.code(401).send({ error: 'unauthorized', error_description: 'not the gateway' });
        const revocations = internal.revocations();
        if (revocations === null) return reply.code(503).send({ error: 'service_unavailable', error_description: 'The database is unavailable.' });
        return { revocations };
      });
      scope.get('/internal/cors-origins', async (request, reply) => {
        if (request.user.role !== GATEWAY_CALLER_ROLE) return reply.code(401).send({ error: 'unauthorized', error_description: 'not the gateway' });
        const origins = internal.corsOrigins === undefined ? [] : internal.corsOrigins();
        if (origins === null) return reply.code(503).send({ error: 'service_unavailable', error_description: 'The database is unavailable.' });
        return { origins };
      });
    });
  }
  await app.register(async (scope) => {
    if (options.secret) await scope.register(gatewayTrust, { secret: options.secret });
    scope.all('/*', async (request, reply) => {
      // Connection-level headers of the upstream's own, which must not reach the client.
      if (request.url.includes('hop-by-hop')) void reply.header('keep-alive', 'timeout=999').header('x-upstream-marker', 'yes');
      // CORS headers of the upstream's own, which the gateway's policy replaces.
      if (request.url.includes('upstream-cors')) void reply.header('access-control-allow-origin', '*').header('access-control-allow-credentials', 'true').header('vary', 'Accept-Encoding');
      // An HTML document of the upstream's own (the gateway adds the document-only security headers),
      // optionally with its own opener policy (which wins over the gateway's).
      if (request.url.includes('html-page')) {
        if (request.url.includes('own-coop')) void reply.header('cross-origin-opener-policy', 'same-origin-allow-popups');
        return reply.type('text/html; charset=utf-8').send('<!doctype html><title>upstream page</title>');
      }
      if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
      const echo: Echo = {
        method: request.method,
        url: request.url,
        headers: request.headers,
        rawHeaders: request.raw.rawHeaders,
        body: typeof request.body === 'string' ? request.body : '',
        user: options.secret ? request.user : undefined,
      };
      state.seen.push(echo);
      return echo;
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    get seen() {
      return state.seen;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    close: () => app.close(),
  };
}

export interface Rig {
  gateway: FastifyInstance;
  url: string;
  auth: Upstream;
  orders: Upstream;
  notifications: Upstream;
  keys: SigningKey[];
  /** The JWKS the fake auth service serves now; replace to rotate. */
  jwks: { keys: JWK[] };
  jwksRequests: number;
  /** What the fake auth service's /internal/revocations answers now (default: an empty list). */
  internalRevocations: InternalRevocations;
  internalRevocationCalls: number;
  /** What the fake auth service's /internal/cors-origins answers now (default: none; null: a 503). */
  internalCorsOrigins: string[] | null;
  issuer: string;
  secret: Buffer;
  mint(claims?: Record<string, unknown>, header?: Record<string, unknown>, key?: SigningKey): Promise<string>;
  close(): Promise<void>;
}

export async function startRig(env: Record<string, string> = {}, deps: GatewayDeps = {}, options: { internalRevocations?: InternalRevocations } = {}): Promise<Rig> {
  const key = await makeKey('key-1');
  const testEnv = await createTestEnvironment({ ISSUER: 'http://localhost:8080', AUDIENCE, ...env });
  const secret = Buffer.from(testEnv.env.GATEWAY_SECRET!, 'base64');
  const rig = { jwks: { keys: [key.jwk] }, jwksRequests: 0, internalRevocations: options.internalRevocations === undefined ? [] : options.internalRevocations, internalRevocationCalls: 0, internalCorsOrigins: [] as string[] | null } as Rig;
  const auth = await startUpstream({
    jwks: () => {
      rig.jwksRequests += 1;
      return rig.jwks;
    },
    internal: {
      secret,
      revocations: () => rig.internalRevocations,
      calls: () => {
        rig.internalRevocationCalls += 1;
      },
      corsOrigins: () => rig.internalCorsOrigins,
    },
  });
  const orders = await startUpstream({ secret });
  const notifications = await startUpstream({ secret });
  const config = loadConfig({
    AUTH_URL: auth.url,
    ORDERS_URL: orders.url,
    NOTIFICATIONS_URL: notifications.url,
    ...testEnv.env,
    ...env,
  });
  const gateway = await build(config, deps);
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  const { port } = gateway.server.address() as AddressInfo;
  Object.assign(rig, {
    gateway,
    url: `http://127.0.0.1:${port}`,
    auth,
    orders,
    notifications,
    keys: [key],
    issuer: config.issuer,
    secret,
    mint: (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, signer: SigningKey = key) => mintToken(signer, { iss: config.issuer, ...claims }, header),
    async close() {
      await gateway.close();
      await Promise.all([auth.close(), orders.close(), notifications.close()]);
      await testEnv.cleanup();
    },
  });
  return rig;
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * A token as auth would issue it; by default what a first-party sign-in gets (its scope follows
 * the role, as /auth/login's does). `{scope: undefined}` leaves the claim out.
 */
export async function mintToken(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = nowSec();
  const role = typeof claims.role === 'string' ? claims.role : 'user';
  const payload: Record<string, unknown> = {
    aud: AUDIENCE,
    sub: 'user-1',
    role,
    sid: `session-${randomUUID()}`,
    client_id: 'web',
    scope: firstPartySessionScope(role),
    jti: randomUUID(),
    iat: now,
    exp: now + 900,
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...header } as never).sign(key.privateKey);
}

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** [name, value, …] as received, so a header sent twice shows twice. */
  rawHeaders: string[];
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * Sends a request with the path and header lines exactly as given. `headers` may be a flat
 * [name, value, name, value…] list, so duplicates and any capitalisation reach the wire.
 */
export function send(base: string, options: { method?: string; path: string; headers?: string[] | Record<string, string>; body?: string }): Promise<RawResponse> {
  const url = new URL(base);
  const headers = Array.isArray(options.headers) ? [...options.headers] : Object.entries(options.headers ?? {}).flat();
  // With a raw header list Node adds nothing itself: Host is required by HTTP/1.1.
  if (!headers.some((name, index) => index % 2 === 0 && name.toLowerCase() === 'host')) headers.unshift('Host', url.host);
  if (options.body !== undefined) headers.push('Content-Length', String(Buffer.byteLength(options.body)));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: options.method ?? 'GET', path: options.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** How many times a header name (any case) appears on the raw list. */
export function countRaw(rawHeaders: string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) count += 1;
  return count;
}
