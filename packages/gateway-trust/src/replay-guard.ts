/**
 * Remembers proofs seen within the validity window so a captured proof cannot be replayed even
 * on the same method and path. Memory is bounded: entries leave once their window has passed,
 * and past `maxEntries` the oldest go first (those are the nearest to expiry anyway).
 */
import { DEFAULT_PROOF_WINDOW_MS } from './proof.js';

export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private readonly windowMs: number;

  constructor(windowMs: number = DEFAULT_PROOF_WINDOW_MS, private readonly maxEntries = 200_000) {
    this.windowMs = windowMs;
  }

  /** True the first time a proof is presented; false for every repeat within the window. */
  firstUse(proof: string, timestamp: number, now: number = Date.now()): boolean {
    this.evict(now);
    if (this.seen.has(proof)) return false;
    this.seen.set(proof, timestamp + this.windowMs);
    if (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }

  private evict(now: number): void {
    // Insertion order is roughly expiry order, so stop at the first live entry.
    for (const [proof, expiresAt] of this.seen) {
      if (expiresAt > now) break;
      this.seen.delete(proof);
    }
  }
}
