/**
 * Rate limits through @fastify/rate-limit: per client IP (IPv6 by /64) on public routes, per
 * user on authenticated ones (the key is chosen after the token was verified, hence the
 * preHandler hook). With Redis, every gateway instance shares the counts: by default each
 * instance counts in memory and sends its hits to Redis every RATE_LIMIT_SYNC_MS in one
 * pipelined call, reading the shared totals back (the per-request Redis round trip it replaces
 * was 12-20 % of the gateway's CPU); RATE_LIMIT_SYNC_MS=0 keeps one round trip per request for
 * limits exact across instances. While Redis is not connected, counting falls back to this
 * instance's memory instead of waiting on Redis's retry queue (which would stall every request)
 * or turning limits off.
 * 429 answers carry Retry-After and the RateLimit-* headers and the contract's error body.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter } from 'prom-client';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { batchedRateLimitStore, failoverRateLimitStore, ipRateLimitKey } from '@keygate/rate-limit-store';
import type { Bus } from '@keygate/bus';
import { GatewayErrors } from '../errors.js';

/** Counters kept in memory (no Redis, or Redis down): see @keygate/rate-limit-store. */
const LOCAL_COUNTERS = 20_000;

export interface RateLimitOptions {
  perIp: number;
  perUser: number;
  /** The bus's shared counters; undefined on the in-memory bus (one process counts alone). */
  counters: Bus['counters'];
  /** 0: a Redis round trip per request; otherwise how often counts are shared (ms). */
  syncIntervalMs: number;
  nameSpace: string;
}

/** Where counts are shared across instances: none without Redis (memory only), else exact or batched. */
function sharedStore(app: FastifyInstance, options: RateLimitOptions): FastifyRateLimitStoreCtor | undefined {
  if (!options.counters) return undefined;
  if (options.syncIntervalMs === 0) return failoverRateLimitStore(options.counters, options.nameSpace, LOCAL_COUNTERS);
  const batched = batchedRateLimitStore(options.counters, options.nameSpace, {
    syncIntervalMs: options.syncIntervalMs,
    maxCounters: LOCAL_COUNTERS,
    onError: (error) => app.log.warn({ err: error }, 'rate-limit counts could not be shared through Redis; counting locally'),
  });
  app.addHook('onClose', async () => batched.close());
  return batched.Store;
}

export const rateLimitPlugin = fp<RateLimitOptions>(
  async (app, options) => {
    const rejections = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused with 429, by limit (ip on public routes, user on authenticated ones).',
      labelNames: ['limit'] as const,
      registers: [app.metrics.registry],
    });
    const store = sharedStore(app, options);
    await app.register(rateLimit, {
      global: false,
      hook: 'preHandler',
      timeWindow: 60_000,
      cache: LOCAL_COUNTERS,
      enableDraftSpec: true,
      skipOnError: true,
      ...(store ? { store } : {}),
      // Users by id; everyone else by address, IPv6 clients by their /64 (one host holds a whole
      // /64, so per-address counting would give it 2^64 budgets). ipRateLimitKey never starts "u:".
      keyGenerator: (request) => {
        const user = request.gateway?.user;
        return user ? `u:${user.sub}` : ipRateLimitKey(request.ip);
      },
      max: (_request, key) => (key.startsWith('u:') ? options.perUser : options.perIp),
      onExceeded: (_request, key) => rejections.inc({ limit: key.startsWith('u:') ? 'user' : 'ip' }),
      errorResponseBuilder: (_request, context) => GatewayErrors.rateLimited(`Too many requests; retry in ${context.after}.`),
    });
  },
  { name: 'gateway-rate-limit', fastify: '5.x' },
);
