/**
 * CORS, answered at the gateway for every service behind it (the contract's "Browsers" section),
 * with a policy chosen by path:
 *
 * - `/.well-known/*` (discovery, JWKS): any origin (`*`). Public documents; no credentials.
 * - `/oauth/token`, `/oauth/revoke`, `/oauth/userinfo`: the origins of public clients' redirect
 *   URIs (read from the auth service, see cors-origins.ts) and ALLOWED_ORIGINS. A SPA with PKCE
 *   calls these with fetch; it holds tokens, not cookies, so no credentials.
 * - `/auth/login`, `/auth/refresh`, `/auth/logout` (the refresh-cookie calls): ALLOWED_ORIGINS
 *   only, with `Access-Control-Allow-Credentials: true` — the same origins the auth service's
 *   Origin check trusts for these calls, so the two layers agree. The cookie is SameSite=Strict,
 *   so only a same-site first-party app ever sends it; a public client's origin never gets
 *   credentials anywhere.
 * - everything else (resource routes /orders, /notifications, the other /auth and /admin token
 *   routes): ALLOWED_ORIGINS, Bearer tokens only, no credentials.
 *
 * Every OPTIONS is answered here with 204 before routing, authentication or rate limiting (a
 * preflight carries no Authorization, and reaching the proxy would make it a 401 or 404); it is
 * never forwarded. It costs no I/O, and browsers cache a granted preflight for PREFLIGHT_MAX_AGE.
 * A refused origin gets its 204 without Access-Control-Allow-Origin, which is what makes the
 * browser refuse the call. Responses vary by Origin (`Vary: Origin`), so caches keep them apart.
 *
 * One onRequest hook, not @fastify/cors: the plugin could only be given a per-request delegator,
 * and it copied and normalised the policy it returned on every request, Origin or not (with the
 * path's normalisation, ~4 % of the gateway's CPU per proxied request). Here each policy's
 * headers are fixed lists built at start-up, a request without Origin (same-origin, curl, other
 * services) costs one header (`Vary: Origin`), and one with Origin costs the path's class and a
 * Set lookup. What reaches the browser is what @fastify/cors sent for these policies.
 */
import type { FastifyReply, FastifyRequest, FastifySchema, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { PublicClientOrigins } from '../cors-origins.js';
import { targetOf } from '../request-target.js';

export interface CorsOptions {
  allowedOrigins: readonly string[];
  authUrl: string;
  secret: Buffer;
  refreshMs: number;
  fetch?: typeof fetch;
}

const TOKEN_ENDPOINTS = new Set(['/oauth/token', '/oauth/revoke', '/oauth/userinfo']);
const COOKIE_CALLS = new Set(['/auth/login', '/auth/refresh', '/auth/logout']);
/** Seconds a browser may reuse a preflight's answer: short, so a withdrawn origin stops soon. */
const PREFLIGHT_MAX_AGE = 600;
/** What a browser script may send besides the CORS-safelisted headers (Idempotency-Key: safe retries of a POST). */
const ALLOWED_HEADERS = 'Authorization, Content-Type, Idempotency-Key';
/** What a browser script may read besides the safelisted response headers: challenges, limits, ids, replays. */
const EXPOSED_HEADERS = 'WWW-Authenticate, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Location, X-Request-Id, Idempotent-Replayed';

interface Policy {
  methods: string;
  allowedHeaders: string;
  credentials?: boolean;
}
const base = { allowedHeaders: ALLOWED_HEADERS };
const POLICIES = {
  anyOrigin: { ...base, methods: 'GET, HEAD', allowedHeaders: 'Content-Type' },
  tokenEndpoint: { ...base, methods: 'GET, POST' },
  cookieCall: { ...base, methods: 'POST', credentials: true },
  resource: { ...base, methods: 'GET, HEAD, POST, PUT, PATCH, DELETE' },
  /** A preflight from an origin not allowed (or none): still a 204, but nothing grants access. */
  refusedPreflight: { ...base, methods: 'GET, HEAD, POST' },
} satisfies Record<string, Policy>;

type HeaderList = readonly (readonly [name: string, value: string])[];

/** A policy's headers besides Access-Control-Allow-Origin: on an answer, and on a preflight's 204. */
interface CompiledPolicy {
  answer: HeaderList;
  preflight: HeaderList;
}

function compile(policy: Policy): CompiledPolicy {
  const answer: HeaderList = [...(policy.credentials ? [['access-control-allow-credentials', 'true'] as const] : []), ['access-control-expose-headers', EXPOSED_HEADERS]];
  return {
    answer,
    preflight: [
      ...answer,
      ['access-control-allow-methods', policy.methods],
      ['access-control-allow-headers', policy.allowedHeaders],
      ['access-control-max-age', String(PREFLIGHT_MAX_AGE)],
    ],
  };
}

const ANY_ORIGIN = compile(POLICIES.anyOrigin);
const TOKEN_ENDPOINT = compile(POLICIES.tokenEndpoint);
const COOKIE_CALL = compile(POLICIES.cookieCall);
const RESOURCE = compile(POLICIES.resource);
const REFUSED_PREFLIGHT = compile(POLICIES.refusedPreflight);

/**
 * Writes the policy's headers and, for OPTIONS, answers the preflight (204, empty body: Safari
 * waits for a body without Content-Length: 0). `allowOrigin` undefined: refused (a preflight still
 * gets its 204, any other request no CORS header at all).
 */
function apply(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, policy: CompiledPolicy, allowOrigin: string | undefined): void {
  const preflight = request.method === 'OPTIONS';
  if (allowOrigin !== undefined) void reply.header('access-control-allow-origin', allowOrigin);
  else if (!preflight) return done();
  for (const [name, value] of preflight ? policy.preflight : policy.answer) void reply.header(name, value);
  if (!preflight) return done();
  void reply.code(204).header('content-length', '0').send();
}

export const corsPlugin = fp<CorsOptions>(
  async (app, options) => {
    const allowed = new Set(options.allowedOrigins);
    const publicClients = new PublicClientOrigins({
      authUrl: options.authUrl,
      secret: options.secret,
      refreshMs: options.refreshMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      onFailed: (error) => app.log.warn({ err: error }, 'could not load the public clients’ origins for CORS; keeping the last list'),
    });
    app.decorate('corsOrigins', publicClients);
    // Not awaited: start-up does not wait on auth; until the first list, only ALLOWED_ORIGINS pass.
    app.addHook('onReady', async () => {
      void publicClients.start();
    });
    app.addHook('onClose', async () => publicClients.stop());

    app.addHook('onRequest', (request, reply, done) => {
      // Every answer varies by Origin, whether or not this request sent one
      // (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches).
      void reply.header('vary', 'Origin');
      const origin = request.headers.origin;
      if (origin === undefined) return apply(request, reply, done, REFUSED_PREFLIGHT, undefined);
      const target = targetOf(request);
      const path = target.ok ? target.path : '';
      if (path.startsWith('/.well-known/')) return apply(request, reply, done, ANY_ORIGIN, '*');
      if (TOKEN_ENDPOINTS.has(path)) {
        const granted = allowed.has(origin) || publicClients.allows(origin);
        return apply(request, reply, done, granted ? TOKEN_ENDPOINT : REFUSED_PREFLIGHT, granted ? origin : undefined);
      }
      if (!allowed.has(origin)) return apply(request, reply, done, REFUSED_PREFLIGHT, undefined);
      apply(request, reply, done, COOKIE_CALLS.has(path) ? COOKIE_CALL : RESOURCE, origin);
    });
    // Every OPTIONS is answered by the hook above; the route only makes OPTIONS a routed method
    // (as @fastify/cors's own OPTIONS route did), so no preflight reaches the 404 handler.
    app.options('*', { schema: { hide: true } as FastifySchema }, (_request, reply) => {
      void reply.code(204).header('content-length', '0').send();
    });
  },
  { name: 'gateway-cors', fastify: '5.x', dependencies: ['gateway-request-target'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** The public clients' origins the token endpoints allow (tests and the stack read it). */
    corsOrigins: PublicClientOrigins;
  }
}
