/**
 * A store for @fastify/rate-limit that answers every hit from this instance's memory and sends the
 * hits to Redis in batches, one pipelined round trip per sync interval for all keys, reading each
 * key's shared total back in the same call. The gateway's request limits use it: a Redis round
 * trip per request was 12-20 % of the gateway's CPU (plus the Redis server's own), for limits
 * that only need to hold across instances to within a fraction of a second.
 *
 * What a hit sees: the shared total Redis last reported, plus this instance's hits since. So one
 * instance enforces the limit exactly on its own traffic, and across N instances the total admitted
 * in a window exceeds the limit by at most what the other N-1 instances admit within one sync
 * interval. Windows are Redis's: a key is created with the window as its TTL by whichever instance
 * sends first, and every instance adopts the TTL Redis reports. While Redis is not connected the
 * counting simply stays local (nothing is queued behind ioredis's reconnect), which is the same
 * failover as the exact store in index.ts. Fixed windows only (store.ts).
 */
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { SharedCounters } from '@keygate/bus';
import { storeClass } from './store.js';

interface WindowCount {
  /** The shared total Redis last reported for this window (this instance's acknowledged hits included). */
  shared: number;
  /** Hits counted here and not yet sent. */
  pending: number;
  /** Hits sent in the batch now in flight, not yet acknowledged. */
  sending: number;
  /** When the window ends (ms since epoch): Redis's TTL once known, the local estimate before. */
  resetAt: number;
  windowMs: number;
}

export interface BatchedStoreOptions {
  /** How often hits are sent to Redis (ms). */
  syncIntervalMs: number;
  /** Counters kept in memory at most (oldest dropped first). */
  maxCounters: number;
  /** Called when a batch could not be sent (the counts stay local). */
  onError?: (error: Error) => void;
}

/** The shared state of one store and all its per-route children: one map, one timer, one batch. */
class BatchedCounters {
  private readonly counts = new Map<string, WindowCount>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;

  constructor(
    private readonly shared: SharedCounters,
    private readonly options: BatchedStoreOptions,
  ) {}

  hit(key: string, windowMs: number): { current: number; ttl: number } {
    const now = Date.now();
    let count = this.counts.get(key);
    if (count === undefined || now >= count.resetAt) {
      if (count !== undefined) this.counts.delete(key);
      count = { shared: 0, pending: 0, sending: 0, resetAt: now + windowMs, windowMs };
      this.counts.set(key, count);
      if (this.counts.size > this.options.maxCounters) this.dropOldest();
    }
    count.pending += 1;
    this.dirty.add(key);
    this.timer ??= setTimeout(() => void this.sync(), this.options.syncIntervalMs).unref();
    return { current: count.shared + count.sending + count.pending, ttl: count.resetAt - now };
  }

  private dropOldest(): void {
    const oldest = this.counts.keys().next().value;
    if (oldest === undefined) return;
    this.counts.delete(oldest);
    this.dirty.delete(oldest);
  }

  /** Sends every dirty key's pending hits in one pipeline; one batch in flight at a time. */
  private async sync(): Promise<void> {
    this.timer = undefined;
    if (this.syncing || this.dirty.size === 0) return;
    const batch: { key: string; count: WindowCount; sent: number }[] = [];
    for (const key of this.dirty) {
      const count = this.counts.get(key);
      if (count === undefined || count.pending === 0) continue;
      batch.push({ key, count, sent: count.pending });
      count.sending += count.pending;
      count.pending = 0;
    }
    this.dirty.clear();
    if (batch.length === 0) return;
    if (!this.shared.isConnected()) {
      // Redis away: the hits stay counted here (local limits), nothing waits on a reconnect.
      for (const { count, sent } of batch) this.settleLocally(count, sent);
      return;
    }
    this.syncing = true;
    try {
      const results = await this.shared.hitWindows(batch.map(({ key, count, sent }) => ({ key, increment: sent, windowMs: count.windowMs })));
      const now = Date.now();
      batch.forEach(({ key, count, sent }, index) => {
        const result = results[index];
        count.sending -= sent;
        // The window this batch belonged to was already replaced here: nothing to update.
        if (this.counts.get(key) !== count) return;
        if (result === undefined || result instanceof Error) {
          count.shared += sent;
          return;
        }
        count.shared = result.total;
        if (result.ttlMs > 0) count.resetAt = now + result.ttlMs;
      });
    } catch (error) {
      for (const { count, sent } of batch) this.settleLocally(count, sent);
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.syncing = false;
      // Hits that arrived during the round trip go in the next batch.
      if (this.dirty.size > 0) this.timer ??= setTimeout(() => void this.sync(), this.options.syncIntervalMs).unref();
    }
  }

  private settleLocally(count: WindowCount, sent: number): void {
    count.sending -= sent;
    count.shared += sent;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * The `store` option for @fastify/rate-limit: counts in memory, shares through the bus's counters
 * every `syncIntervalMs`. Returns the constructor and a `close` that stops the sync timer.
 */
export function batchedRateLimitStore(shared: SharedCounters, nameSpace: string, options: BatchedStoreOptions): { Store: FastifyRateLimitStoreCtor; close(): void } {
  const counters = new BatchedCounters(shared, options);
  return { Store: storeClass(nameSpace, (key, windowMs, callback) => callback(null, counters.hit(key, windowMs))), close: () => counters.close() };
}
