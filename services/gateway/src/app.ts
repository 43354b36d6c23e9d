/**
 * The gateway app factory: never listens (main.ts does). Assembles the single-purpose plugins:
 * security headers, CORS, token verification, revocation, rate limiting, and the proxy route.
 * A bus passed in deps is shared and never closed here; one opened here is closed on close.
 */
import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import { useServiceBus, type Bus } from '@keygate/bus';
import { demoPage } from '@keygate/demo-page';
import { createServiceApp } from '@keygate/service-kit';
import type { GatewayConfig } from './config.js';
import { corsPlugin } from './plugins/cors.js';
import { devMailbox } from './plugins/dev-mailbox.js';
import { docsPlugin } from './plugins/docs.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { revocationPlugin } from './plugins/revocation.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { tokenVerificationPlugin } from './plugins/token-verification.js';
import { requestTargetPlugin } from './request-target.js';
import { proxyRoutes } from './routes/proxy.js';

const MAX_HEADER_BYTES = 128 * 1024;

export interface GatewayDeps {
  /** A bus shared with other in-process services (the embedded stack); never closed by the gateway. */
  bus?: Bus;
  /** fetch used for the JWKS (tests inject one); default globalThis.fetch. */
  fetch?: typeof fetch;
}

export type { GatewayConfig } from './config.js';

export async function build(config: GatewayConfig, deps: GatewayDeps = {}): Promise<FastifyInstance> {
  const app = await createServiceApp({
    service: 'gateway',
    logLevel: config.logLevel,
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    // Node's 16 KiB header cap would answer an oversized token with a bare 431; above it, the
    // token verifier's own cap answers 401 invalid_token with the contract's body.
    fastify: { http: { maxHeaderSize: MAX_HEADER_BYTES } } as Partial<FastifyHttpOptions<Server>>,
    readiness: {
      jwks: async () => {
        if (!app.tokens.jwks.loaded) throw new Error('the JWKS has not been loaded yet');
      },
      // Never in rotation with a revocation list not caught up once (from Redis or the auth service).
      revocation: async () => {
        if (!app.revocation.caughtUp) throw new Error('the revocation list has not been loaded yet');
      },
      // With `serve`, a Redis outage must not take every gateway out of rotation: the list is then
      // polled from the auth service (gateway_revocation_live = 0). With `refuse`, Redis is a hard dependency.
      ...(config.revocationWhenRedisDown === 'refuse' ? { bus: () => bus.ping() } : {}),
    },
  });
  // Opened once the app (and its logger) exists; the readiness check above only runs after that.
  const { bus, release: releaseBus } = useServiceBus(deps.bus, {
    redisUrl: config.redisUrl,
    keyPrefix: config.redisPrefix,
    onError: (error) => app.log.warn({ err: error }, 'bus error'),
  });
  app.addHook('onClose', releaseBus);
  await app.register(securityHeadersPlugin, { https: config.issuer.startsWith('https:') });
  await app.register(requestTargetPlugin);
  // Before every route: a preflight is answered (204) ahead of authentication and routing.
  await app.register(corsPlugin, {
    allowedOrigins: config.allowedOrigins,
    authUrl: config.authUrl,
    secret: config.gatewaySecret,
    refreshMs: config.corsOriginsRefreshMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  await app.register(tokenVerificationPlugin, {
    jwksUrl: config.jwksUrl,
    issuer: config.issuer,
    audience: config.audience,
    algorithms: config.tokenAlgorithms,
    clockSkewSec: config.clockSkewSec,
    maxTokenLength: config.tokenMaxLength,
    cacheSize: config.tokenCacheSize,
    refetchCooldownMs: config.jwksRefetchCooldownMs,
    refreshIntervalMs: config.jwksRefreshIntervalMs,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  await app.register(revocationPlugin, { bus, authUrl: config.authUrl, secret: config.gatewaySecret, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  await app.register(rateLimitPlugin, {
    perIp: config.rateLimitPublicPerIp,
    perUser: config.rateLimitUser,
    counters: bus.counters,
    syncIntervalMs: config.rateLimitSyncMs,
    // The bus prefixes the keys with config.redisPrefix itself.
    nameSpace: 'gateway-rate:',
  });
  // Pages the gateway itself serves, beside the proxied routes: the demo at / and the API docs.
  await app.register(demoPage);
  await app.register(docsPlugin, {
    services: config.upstreams,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  // Development only: in production /dev/mailbox is not a route (404) and mail goes out by SMTP.
  if (config.nodeEnv !== 'production') await app.register(devMailbox, { authUrl: config.authUrl, secret: config.gatewaySecret, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  await app.register(async (scope) => proxyRoutes(scope, config));
  return app;
}
