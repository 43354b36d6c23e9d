/**
 * The revoked sessions and token ids this gateway knows of, in memory, each kept until `until`
 * (the last moment a token of it could still pass verification) and dropped after. Checking is
 * two Map lookups: no network call per request.
 */

export type RevocationType = 'session' | 'token';

export interface Revocation {
  type: RevocationType;
  id: string;
  until: number;
}

const MAX_ID_LENGTH = 256;

/** Parses the agreed wire format `{"type":"session"|"token","id":"…","until":<epoch ms>}`. */
/** The publish time (epoch ms) of a revocation message, when the publisher stamped one. */
export function publishedAt(message: string): number | undefined {
  const match = /"at":(\d{1,16})/.exec(message);
  return match ? Number(match[1]) : undefined;
}

export function parseRevocationMessage(message: string): Revocation | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  const { type, id, until } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (type !== 'session' && type !== 'token') return undefined;
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
  if ((type !== 'session' && type !== 'token') || id === '' || id.length > MAX_ID_LENGTH) return undefined;
  return { type, id, until };
}

export class RevocationList {
  private readonly sessions = new Map<string, number>();
  private readonly tokens = new Map<string, number>();

  add(revocation: Revocation, now = Date.now()): void {
    if (revocation.until <= now) return;
    const map = revocation.type === 'session' ? this.sessions : this.tokens;
    map.set(revocation.id, Math.max(map.get(revocation.id) ?? 0, revocation.until));
  }

  /** True when the token's session or the token itself is revoked. */
  isRevoked(sid: string | undefined, jti: string, now: number): boolean {
    if (sid !== undefined && this.sessions.size > 0) {
      const until = this.sessions.get(sid);
      if (until !== undefined && until > now) return true;
    }
    if (this.tokens.size > 0) {
      const until = this.tokens.get(jti);
      if (until !== undefined && until > now) return true;
    }
    return false;
  }

  /** Drops entries whose tokens can no longer be valid anyway. */
  prune(now = Date.now()): void {
    for (const map of [this.sessions, this.tokens]) {
      for (const [id, until] of map) if (until <= now) map.delete(id);
    }
  }

  get size(): number {
    return this.sessions.size + this.tokens.size;
  }
}
