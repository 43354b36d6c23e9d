/**
 * The revocations this gateway knows of, in memory, each kept until `until` (the last moment a
 * token of it could still pass verification) and dropped after. Checking is at most three Map
 * lookups, each skipped while its Map is empty: no network call per request.
 *
 * Kinds (the agreed wire format, docs/decisions.md "Revocation kinds"):
 *   session  id = sid        every token of that session
 *   token    id = jti        one access token
 *   client   id = client_id  every token issued to a deleted client
 *   key      id = kid        every token signed with a revoked key; not held here: the token
 *                           verifier refuses the kid (claims carry no kid), see the plugin
 */

export const REVOCATION_TYPES = ['session', 'token', 'client', 'key'] as const;
export type RevocationType = (typeof REVOCATION_TYPES)[number];

export interface Revocation {
  type: RevocationType;
  id: string;
  until: number;
}

/** What isRevoked needs of a verified token's claims. */
export interface RevocableClaims {
  readonly sid?: string;
  readonly jti: string;
  readonly client_id?: string;
}

const MAX_ID_LENGTH = 256;

function isRevocationType(value: unknown): value is RevocationType {
  return value === 'session' || value === 'token' || value === 'client' || value === 'key';
}

/** The publish time (epoch ms) of a revocation message, when the publisher stamped one. */
export function publishedAt(message: string): number | undefined {
  const match = /"at":(\d{1,16})/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** Parses the agreed wire format `{"type":"session"|"token"|"client"|"key","id":"…","until":<epoch ms>}`. */
export function parseRevocationMessage(message: string): Revocation | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  const { type, id, until } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (!isRevocationType(type)) return undefined;
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) return undefined;
  if (typeof until !== 'number' || !Number.isFinite(until)) return undefined;
  return { type, id, until };
}

/** Parses an expiring-set member `<type>:<id>` as written by the auth service. */
export function parseRevocationMember(member: string, until: number): Revocation | undefined {
  const colon = member.indexOf(':');
  if (colon === -1) return undefined;
  const type = member.slice(0, colon);
  const id = member.slice(colon + 1);
  if (!isRevocationType(type) || id === '' || id.length > MAX_ID_LENGTH) return undefined;
  return { type, id, until };
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
