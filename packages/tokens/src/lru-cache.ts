/**
 * A bounded LRU of token text → verified claims. Only tokens that passed every time-independent
 * check land here (canonical form, header rules, pinned alg, signature, issuer, audience, claim
 * types), so a hit can skip those; the caller still checks time and key presence on every hit.
 * The verifier keys it by a digest of the exact token text; the canonical-form rule makes that
 * text unique per token.
 */
export class LruCache<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    // Move to the most recent end (nothing to move when it is the only entry).
    if (this.map.size > 1) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}
