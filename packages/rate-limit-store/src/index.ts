/**
 * Stores for @fastify/rate-limit that count in Redis (through the bus's shared counters) while it is
 * connected, so every instance shares the counts, and in this instance's memory otherwise, instead
 * of waiting on Redis's retry queue (which would stall every request) or failing requests (which
 * would turn a Redis outage into a login outage). Used by the gateway's limits and the auth
 * service's login limits. The exact store here costs a round trip per hit; batched.ts shares
 * counts every sync interval instead.
 */
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { SharedCounters } from '@keygate/bus';
import { LocalWindows, type HitCount } from './local.js';
import { storeClass, type CountHit } from './store.js';

/**
 * Counters kept in memory by default. Sized for the clients active within one window: an LRU
 * smaller than that evicts and re-creates a counter on nearly every request, which both resets
 * limits early and churns the old generation of the heap.
 */
export const DEFAULT_LOCAL_COUNTERS = 20_000;

/** One hit (counted once per `once` id, when given): Redis's count while connected, this instance's own otherwise. */
type CountHitOnce = (key: string, windowMs: number, once: string | undefined, callback: Parameters<CountHit>[2]) => void;

function failoverCountOnce(shared: SharedCounters | undefined, localCounters: number): CountHitOnce {
  const local = new LocalWindows(localCounters);
  return (key, windowMs, once, callback) => {
    if (!shared?.isConnected()) {
      callback(null, once === undefined ? local.hit(key, windowMs) : local.hitOnce(key, windowMs, once));
      return;
    }
    shared.hitWindows([{ key, increment: 1, windowMs, ...(once === undefined ? {} : { once }) }]).then(
      ([result]) => {
        if (result === undefined || result instanceof Error) callback(result ?? new Error('the shared counter gave no count'));
        else callback(null, { current: result.total, ttl: result.ttlMs });
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  };
}

function failoverCount(shared: SharedCounters | undefined, localCounters: number): CountHit {
  const count = failoverCountOnce(shared, localCounters);
  return (key, windowMs, callback) => count(key, windowMs, undefined, callback);
}

/** The `store` option for @fastify/rate-limit: one Redis round trip per hit while connected, memory otherwise. */
export function failoverRateLimitStore(shared: SharedCounters, nameSpace: string, localCounters = DEFAULT_LOCAL_COUNTERS): FastifyRateLimitStoreCtor {
  return storeClass(nameSpace, failoverCount(shared, localCounters));
}

/** One fixed-window count: the hits in the current window (this one included) and the ms it has left. */
export type RateLimitCount = HitCount;

/**
 * A counter for limits that a handler applies itself, with a key it computed from what it is about
 * to authenticate (the auth service's login and registration limits), rather than a route hook
 * that derives the key from the request. Same counting as above: Redis while connected, memory
 * otherwise (memory only when `shared` is undefined).
 */
export interface RateLimitCounter {
  /**
   * `once`: the request's id (the same on a resend of it): a hit with an id already counted under
   * this key in this window adds nothing and returns the count.
   */
  hit(key: string, windowMs: number, max: number, once?: string): Promise<RateLimitCount>;
}

/** `shared` is the bus's `counters` (undefined on the in-memory bus); keys get the bus's keyPrefix. */
export function rateLimitCounter(shared: SharedCounters | undefined, nameSpace: string, localCounters = DEFAULT_LOCAL_COUNTERS): RateLimitCounter {
  const count = failoverCountOnce(shared, localCounters);
  return {
    hit: (key, windowMs, _max, once) =>
      new Promise((resolve, reject) => {
        count(nameSpace + key, windowMs, once, (error, result) => (error || !result ? reject(error ?? new Error('the rate-limit store returned no count')) : resolve(result)));
      }),
  };
}

export { batchedRateLimitStore, type BatchedStoreOptions } from './batched.js';
export { ipRateLimitKey } from './client-key.js';
