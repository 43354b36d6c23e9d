/**
 * Fixed-window counters in this process's memory: what a store counts with while Redis is not
 * connected (or not configured). At most `maxCounters` keys, the least recently hit dropped first,
 * so a flood of distinct keys (addresses) cannot grow the heap without bound.
 */

export interface HitCount {
  /** Hits in the current window, this one included. */
  current: number;
  /** Milliseconds left in the window. */
  ttl: number;
}

export class LocalWindows {
  /** Insertion order is recency order: a hit re-inserts its key at the end. */
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly maxCounters: number) {}

  hit(key: string, windowMs: number, now = Date.now(), increment = 1): HitCount {
    let window = this.windows.get(key);
    if (window === undefined || now >= window.resetAt) window = { count: 0, resetAt: now + windowMs };
    window.count += increment;
    this.windows.delete(key);
    this.windows.set(key, window);
    if (this.windows.size > this.maxCounters) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    return { current: window.count, ttl: window.resetAt - now };
  }

  /** A hit counted only the first time `once` (a request's id) comes under `key` within the window. */
  hitOnce(key: string, windowMs: number, once: string, now = Date.now()): HitCount {
    const first = this.hit(`${key}:once:${once}`, windowMs, now).current === 1;
    return this.hit(key, windowMs, now, first ? 1 : 0);
  }
}
