/**
 * A store for @fastify/rate-limit that counts in Redis while it is connected (every instance
 * shares the counts) and in this instance's memory otherwise, instead of waiting on Redis's
 * retry queue (which would stall every request) or failing requests (which would turn a Redis
 * outage into a login outage). Used by the gateway's limits and the auth service's login limits.
 */
import { createRequire } from 'node:module';
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';

interface CounterStore {
  incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
  child(routeOptions: unknown): CounterStore;
}
type StoreParams = { continueExceeding?: boolean; exponentialBackoff?: boolean };

/**
 * Counters kept in memory by default. Sized for the clients active within one window: an LRU
 * smaller than that evicts and re-creates a counter on nearly every request, which both resets
 * limits early and churns the old generation of the heap.
 */
export const DEFAULT_LOCAL_COUNTERS = 20_000;

// The plugin's own stores (CommonJS, untyped): reused rather than re-implementing their Lua and LRU.
const require = createRequire(import.meta.url);
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (c: boolean, e: boolean, redis: unknown, key: string) => CounterStore;
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (c: boolean, e: boolean, cache: number) => CounterStore;

/** The `store` option for @fastify/rate-limit: Redis while connected, memory otherwise. */
export function failoverRateLimitStore(redis: Redis, nameSpace: string, localCounters = DEFAULT_LOCAL_COUNTERS): FastifyRateLimitStoreCtor {
  return failoverStoreClass(redis, nameSpace, localCounters) as unknown as FastifyRateLimitStoreCtor;
}

function failoverStoreClass(redis: Redis, nameSpace: string, localCounters: number): new (params: StoreParams) => CounterStore {
  class FailoverStore implements CounterStore {
    private readonly shared: CounterStore;
    private readonly local: CounterStore;

    constructor(params: StoreParams, parts?: { shared: CounterStore; local: CounterStore }) {
      this.shared = parts?.shared ?? new RedisStore(params.continueExceeding === true, params.exponentialBackoff === true, redis, nameSpace);
      this.local = parts?.local ?? new LocalStore(params.continueExceeding === true, params.exponentialBackoff === true, localCounters);
    }

    incr(...args: Parameters<CounterStore['incr']>): void {
      (redis.status === 'ready' ? this.shared : this.local).incr(...args);
    }

    child(routeOptions: unknown): CounterStore {
      return new FailoverStore(routeOptions as StoreParams, { shared: this.shared.child(routeOptions), local: this.local.child(routeOptions) });
    }
  }
  return FailoverStore;
}

/** One fixed-window count: the hits in the current window (this one included) and the ms it has left. */
export interface RateLimitCount {
  current: number;
  ttl: number;
}

/**
 * A counter for limits that a handler applies itself, with a key it computed from what it is about
 * to authenticate (the auth service's login and registration limits), rather than a route hook
 * that derives the key from the request. Same stores as above: Redis while connected, memory otherwise
 * (memory only when `redis` is undefined).
 */
export interface RateLimitCounter {
  hit(key: string, windowMs: number, max: number): Promise<RateLimitCount>;
}

export function rateLimitCounter(redis: Redis | undefined, nameSpace: string, localCounters = DEFAULT_LOCAL_COUNTERS): RateLimitCounter {
  const store = redis ? new (failoverStoreClass(redis, nameSpace, localCounters))({}) : new LocalStore(false, false, localCounters);
  return {
    hit: (key, windowMs, max) =>
      new Promise((resolve, reject) => {
        store.incr(key, (error, result) => (error || !result ? reject(error ?? new Error('the rate-limit store returned no count')) : resolve(result)), windowMs, max);
      }),
  };
}

export { batchedRateLimitStore, type BatchedStoreOptions } from './batched.js';
export { ipRateLimitKey } from './client-key.js';
