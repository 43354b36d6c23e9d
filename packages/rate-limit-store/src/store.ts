/**
 * The shape @fastify/rate-limit expects of a custom store (its `store` option): a constructor taking
 * the plugin's options, `incr` per request and `child` per route. Only fixed windows: the plugin's
 * continueExceeding and exponentialBackoff options are refused at construction rather than
 * silently ignored (no limit of ours uses them).
 */
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { HitCount } from './local.js';

export type IncrCallback = (error: Error | null, result?: HitCount) => void;

/** How one store counts a hit under a key already prefixed with its namespace and route. */
export type CountHit = (key: string, windowMs: number, callback: IncrCallback) => void;

interface StoreParams {
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
  routeInfo?: { method: string; url: string };
}

/** A store class whose instances prefix keys with `nameSpace` (and, per route, the route) and count with countHit. */
export function storeClass(nameSpace: string, countHit: CountHit): FastifyRateLimitStoreCtor {
  class Store {
    private readonly prefix: string;

    constructor(params: StoreParams = {}, prefix = nameSpace) {
      if (params.continueExceeding === true || params.exponentialBackoff === true) {
        throw new Error('@keygate/rate-limit-store counts fixed windows only: continueExceeding and exponentialBackoff are not supported.');
      }
      this.prefix = prefix;
    }

    incr(key: string, callback: IncrCallback, timeWindow: number): void {
      countHit(this.prefix + key, timeWindow, callback);
    }

    child(routeOptions: StoreParams): Store {
      const route = routeOptions.routeInfo ? `${routeOptions.routeInfo.method}${routeOptions.routeInfo.url}-` : '';
      return new Store(routeOptions, this.prefix + route);
    }
  }
  return Store as unknown as FastifyRateLimitStoreCtor;
}
