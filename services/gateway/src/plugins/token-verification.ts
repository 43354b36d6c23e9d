/**
 * Owns the gateway's token verifier (@keygate/tokens, its key source the JWKS client): loads the
 * JWKS when the app starts (waiting briefly, so a gateway started beside its auth service is
 * ready at once, but never blocking start-up on it), logs key-set events, exposes rejection and
 * cache metrics, and stops the background refresh on close.
 */
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';
import { waitAtMost } from '../wait.js';
import { createJwksClient, createTokenVerifier, type JwksClient, type SigningAlg, type TokenVerifier } from '@keygate/tokens';

export interface TokenVerificationOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  algorithms: readonly SigningAlg[];
  clockSkewSec: number;
  maxTokenLength: number;
  cacheSize: number;
  refetchCooldownMs: number;
  refreshIntervalMs: number;
  fetch?: typeof fetch;
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: {
      verifier: TokenVerifier;
      /** The verifier's key source: `loaded` for readiness, `refresh()` to re-read the JWKS now. */
      jwks: JwksClient;
      /** Counts a refused token by reason (a TokenError code, or `revoked`). */
      rejected(reason: string): void;
    };
  }
}

const START_WAIT_MS = 2_000;

export const tokenVerificationPlugin = fp<TokenVerificationOptions>(
  async (app, options) => {
    const log = app.log.child({ component: 'jwks' });
    const jwks = createJwksClient({
      url: options.jwksUrl,
      algorithms: options.algorithms,
      refetchCooldownMs: options.refetchCooldownMs,
      refreshIntervalMs: options.refreshIntervalMs,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      onEvent(event) {
        if (event.type === 'loaded') log.info({ keys: event.keys, kids: event.kids }, 'JWKS loaded');
        else if (event.type === 'fetch_failed') log.warn({ reason: event.reason }, 'JWKS fetch failed; keeping the keys already loaded');
        else if (event.type === 'key_ignored') log.warn({ kid: event.kid, reason: event.reason }, 'JWKS key ignored');
      },
    });
    const verifier = createTokenVerifier({
      keys: jwks,
      issuer: options.issuer,
      audience: options.audience,
      algorithms: options.algorithms,
      clockToleranceSec: options.clockSkewSec,
      maxTokenLength: options.maxTokenLength,
      cacheSize: options.cacheSize,
    });
    const rejections = new Counter({
      name: 'gateway_token_rejections_total',
      help: 'Access tokens refused, by reason.',
      labelNames: ['reason'] as const,
      registers: [app.metrics.registry],
    });
    // Read at scrape time from the verifier's and the JWKS client's own counts.
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [app.metrics.registry], collect() { this.set(read()); } });
    gauge('gateway_verified_tokens_cached', 'Verified access tokens held by the fast-path cache.', () => verifier.stats().cachedTokens);
    gauge('gateway_jwks_fetches', 'JWKS fetches since start (initial load, refreshes, and unknown-kid refetches).', () => jwks.stats().fetches);
    gauge('gateway_jwks_keys', 'Verification keys currently loaded from the JWKS.', () => jwks.stats().keys);
    app.decorate('tokens', { verifier, jwks, rejected: (reason: string) => rejections.inc({ reason }) });
    app.addHook('onReady', () => waitAtMost(jwks.start(), START_WAIT_MS));
    app.addHook('onClose', async () => {
      jwks.close();
      verifier.close();
    });
  },
  { name: 'gateway-token-verification', fastify: '5.x', dependencies: ['keygate-metrics'] },
);
