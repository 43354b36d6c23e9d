/**
 * Rate limits through @fastify/rate-limit: per client IP on public routes, per user on
 * authenticated ones (the key is chosen after the token was verified, hence the preHandler
 * hook). Counters live in Redis when the bus has one, so every gateway instance shares them.
 * While Redis is not connected, counting falls back to this instance's memory instead of
 * waiting on Redis's retry queue (which would stall every request) or turning limits off.
 * 429 answers carry Retry-After and the RateLimit-* headers and the contract's error body.
 */
import { createRequire } from 'node:module';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Bus } from '@keygate/bus';
import { GatewayErrors } from '../errors.js';

interface CounterStore {
  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(routeOptions: unknown): CounterStore;
}
type StoreParams = { continueExceeding?: boolean; exponentialBackoff?: boolean };

/**
 * Counters kept in memory (no Redis, or Redis down). Sized for the clients active within one
 * window: an LRU smaller than that evicts and re-creates a counter on nearly every request, which
 * both resets limits early and churns the old generation of the heap.
 */
const LOCAL_COUNTERS = 20_000;

// The plugin's own stores (CommonJS, untyped): reused rather than re-implementing their Lua and LRU.
const require = createRequire(import.meta.url);
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (c: boolean, e: boolean, redis: unknown, key: string) => CounterStore;
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (c: boolean, e: boolean, cache: number) => CounterStore;

/** A store class for @fastify/rate-limit that uses Redis while it is connected and memory otherwise. */
function failoverStore(redis: NonNullable<Bus['redis']>, nameSpace: string) {
  return class FailoverStore implements CounterStore {
    private readonly shared: CounterStore;
    private readonly local: CounterStore;

    constructor(params: StoreParams, parts?: { shared: CounterStore; local: CounterStore }) {
      this.shared = parts?.shared ?? new RedisStore(params.continueExceeding === true, params.exponentialBackoff === true, redis, nameSpace);
      this.local = parts?.local ?? new LocalStore(params.continueExceeding === true, params.exponentialBackoff === true, LOCAL_COUNTERS);
    }

    incr(...args: Parameters<CounterStore['incr']>): void {
      (redis.status === 'ready' ? this.shared : this.local).incr(...args);
    }

    child(routeOptions: unknown): CounterStore {
      return new FailoverStore(routeOptions as StoreParams, { shared: this.shared.child(routeOptions), local: this.local.child(routeOptions) });
    }
  };
}

export interface RateLimitOptions {
  perIp: number;
  perUser: number;
  redis: Bus['redis'];
  nameSpace: string;
}

export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app, options) => {
    const rejections = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused with 429, by limit (ip on public routes, user on authenticated ones).',
      labelNames: ['limit'] as const,
      registers: [app.metrics.registry],
    });
    await app.register(rateLimit, {
      global: false,
      hook: 'preHandler',
      timeWindow: 60_000,
      cache: LOCAL_COUNTERS,
      enableDraftSpec: true,
      skipOnError: true,
      ...(options.redis ? { store: failoverStore(options.redis, options.nameSpace) as unknown as FastifyRateLimitStoreCtor } : {}),
      keyGenerator: (request) => {
        const user = request.gateway?.user;
        return user ? `u:${user.sub}` : `ip:${request.ip}`;
      },
      max: (_request, key) => (key.charCodeAt(0) === 117 ? options.perUser : options.perIp),
      onExceeded: (_request, key) => rejections.inc({ limit: key.charCodeAt(0) === 117 ? 'user' : 'ip' }),
      errorResponseBuilder: (_request, context) => GatewayErrors.rateLimited(`Too many requests; retry in ${context.after}.`),
    });
  },
  { name: 'gateway-rate-limit', fastify: '5.x' },
);
