/**
 * The revocation wire format, the one agreement between the auth service (publisher) and every
 * gateway and auth instance (subscribers), so both sides import it rather than each spelling it out:
 *
 * - channel `revocations`: one JSON message per revocation,
 *   `{"type":<kind>,"id":"…","until":<epoch ms>,"at":<epoch ms>}`; `at` (publish time) lets a
 *   subscriber measure propagation lag and is optional (older publishers omit it);
 * - expiring set `revoked`: one member `<kind>:<id>` kept until `until`, for subscribers that missed
 *   the message (a gateway that starts, or whose Redis connection dropped).
 *
 * Kinds (docs/decisions.md "Revocation kinds"):
 *   session  id = sid        every token of that session
 *   token    id = jti        one access token
 *   client   id = client_id  every token issued to a deleted client
 *   key      id = kid        every token signed with a revoked signing key
 * `until` is the last moment a token it covers could still pass verification; after it the
 * revocation can be forgotten.
 */

export const REVOCATION_CHANNEL = 'revocations';
export const REVOCATION_SET = 'revoked';

export const REVOCATION_TYPES = ['session', 'token', 'client', 'key'] as const;
export type RevocationType = (typeof REVOCATION_TYPES)[number];

export interface Revocation {
  type: RevocationType;
  id: string;
  until: number;
}

/** Longer ids are refused on parse: no id of ours comes near, and a subscriber must not hold junk. */
const MAX_ID_LENGTH = 256;

export function isRevocationType(value: unknown): value is RevocationType {
  return value === 'session' || value === 'token' || value === 'client' || value === 'key';
}

/** The channel message for one revocation, stamped with its publish time `at` (epoch ms). */
export function encodeRevocationMessage(revocation: Revocation, at = Date.now()): string {
  return JSON.stringify({ type: revocation.type, id: revocation.id, until: revocation.until, at });
}

/** The publish time (epoch ms) of a revocation message, when the publisher stamped one. */
export function publishedAt(message: string): number | undefined {
  // A regex rather than a second JSON.parse: this runs on the subscriber's hot path after parsing.
  const match = /"at":(\d{1,16})/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** Parses a channel message; undefined for anything that is not a well-formed revocation. */
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

/** The expiring-set member of a revocation, `<type>:<id>` (its expiry is the set's score, `until`). */
export function revocationMember(revocation: Pick<Revocation, 'type' | 'id'>): string {
  return `${revocation.type}:${revocation.id}`;
}

/** Parses an expiring-set member `<type>:<id>` whose expiry is `until`. */
export function parseRevocationMember(member: string, until: number): Revocation | undefined {
  const colon = member.indexOf(':');
  if (colon === -1) return undefined;
  const type = member.slice(0, colon);
  const id = member.slice(colon + 1);
  if (!isRevocationType(type) || id === '' || id.length > MAX_ID_LENGTH) return undefined;
  return { type, id, until };
}
