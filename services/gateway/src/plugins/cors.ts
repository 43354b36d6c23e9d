/**
 * CORS, answered at the gateway for every service behind it (the contract's "Browsers" section),
 * through @fastify/cors with a per-request policy chosen by path:
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
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import { PublicClientOrigins } from '../cors-origins.js';
import { normaliseTarget } from '../path.js';

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

type Policy = Omit<FastifyCorsOptions, 'origin'>;
const base: Policy = { strictPreflight: false, maxAge: PREFLIGHT_MAX_AGE, allowedHeaders: ALLOWED_HEADERS, exposedHeaders: EXPOSED_HEADERS };
const POLICIES = {
  anyOrigin: { ...base, methods: 'GET, HEAD', allowedHeaders: 'Content-Type' },
  tokenEndpoint: { ...base, methods: 'GET, POST' },
  cookieCall: { ...base, methods: 'POST', credentials: true },
  resource: { ...base, methods: 'GET, HEAD, POST, PUT, PATCH, DELETE' },
} satisfies Record<string, Policy>;
/** A preflight from an origin not allowed (or none): still a 204, but nothing grants access. */
const REFUSED_PREFLIGHT: FastifyCorsOptions = { ...base, methods: 'GET, HEAD, POST', origin: [] };
/** Any other request from an origin not allowed, or without Origin (same-origin, curl): no CORS headers. */
const NO_CORS: FastifyCorsOptions = { origin: false };

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

    function policyFor(request: FastifyRequest): FastifyCorsOptions {
      const target = normaliseTarget(request.url);
      const origin = request.headers.origin;
      const path = target.ok ? target.path : '';
      if (path.startsWith('/.well-known/')) return { ...POLICIES.anyOrigin, origin: '*' };
      const refused = request.method === 'OPTIONS' ? REFUSED_PREFLIGHT : NO_CORS;
      if (origin === undefined) return refused;
      if (TOKEN_ENDPOINTS.has(path)) return allowed.has(origin) || publicClients.allows(origin) ? { ...POLICIES.tokenEndpoint, origin } : refused;
      if (!allowed.has(origin)) return refused;
      return { ...(COOKIE_CALLS.has(path) ? POLICIES.cookieCall : POLICIES.resource), origin };
    }

    await app.register(cors, { delegator: (request, callback) => callback(null, policyFor(request as FastifyRequest)) });
  },
  { name: 'gateway-cors', fastify: '5.x' },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** The public clients' origins the token endpoints allow (tests and the stack read it). */
    corsOrigins: PublicClientOrigins;
  }
}
