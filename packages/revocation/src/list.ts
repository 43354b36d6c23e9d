/**
 * The revocations a subscriber (a gateway) knows of, in memory, each kept until `until` and dropped
 * after. Checking is at most three Map lookups, each skipped while its Map is empty: no network call
 * per request. A `key` revocation is not held here: the token verifier refuses the kid itself
 * (claims carry no kid).
 */
import type { Revocation } from './wire.js';

/** What isRevoked needs of a verified token's claims. */
export interface RevocableClaims {
  readonly sid?: string;
  readonly jti: string;
  readonly client_id?: string;
}

export class RevocationList {
  private readonly sessions = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
  private readonly clients = new Map<string, number>();

  /** Holds a session, token or client revocation; a `key` one is the verifier's (returns false). */
  add(revocation: Revocation, now = Date.now()): boolean {
    if (revocation.type === 'key' || revocation.until <= now) return false;
    const map = revocation.type === 'session' ? this.sessions : revocation.type === 'token' ? this.tokens : this.clients;
    map.set(revocation.id, Math.max(map.get(revocation.id) ?? 0, revocation.until));
    return true;
  }

  /** True when the token's session, the token itself, or the client it was issued to is revoked. */
  isRevoked(claims: RevocableClaims, now: number): boolean {
    if (claims.sid !== undefined && this.sessions.size > 0) {
      const until = this.sessions.get(claims.sid);
      if (until !== undefined && until > now) return true;
    }
    if (this.tokens.size > 0) {
      const until = this.tokens.get(claims.jti);
      if (until !== undefined && until > now) return true;
    }
    if (claims.client_id !== undefined && this.clients.size > 0) {
      const until = this.clients.get(claims.client_id);
      if (until !== undefined && until > now) return true;
    }
    return false;
  }

  /** Drops entries whose tokens can no longer be valid anyway. */
  prune(now = Date.now()): void {
    for (const map of [this.sessions, this.tokens, this.clients]) {
      for (const [id, until] of map) if (until <= now) map.delete(id);
    }
  }

  get size(): number {
    return this.sessions.size + this.tokens.size + this.clients.size;
  }
}
