/**
 * The events notifications consumes, as orders writes them to the bus stream `order-events`
 * (services never import each other: this is the consuming side of that wire format).
 *
 * Fields, all strings: event_id (uuid, the de-duplication key), type, user_id, occurred_at
 * (ISO 8601), payload (JSON object text; for order_placed `{order_id, item, quantity}`).
 * An entry that does not parse is skipped (and acknowledged) rather than retried forever.
 */
export const ORDER_EVENTS_STREAM = 'order-events';
/** The consumer group: every notifications instance reads as one member of it. */
export const CONSUMER_GROUP = 'notifications';
/** The event types that become a notification. */
export const NOTIFIED_TYPES: ReadonlySet<string> = new Set(['order_placed']);

export interface ConsumedEvent {
  eventId: string;
  type: string;
  userId: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export type ParseResult = { ok: true; event: ConsumedEvent } | { ok: false; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_USER_ID_LENGTH = 256;

export function parseEvent(fields: Record<string, string>): ParseResult {
  const { event_id: eventId, type, user_id: userId, occurred_at: occurredAt, payload } = fields;
  if (eventId === undefined || !UUID.test(eventId)) return { ok: false, reason: 'event_id is not a uuid' };
  if (type === undefined || !NOTIFIED_TYPES.has(type)) return { ok: false, reason: 'unknown type' };
  if (!userId || userId.length > MAX_USER_ID_LENGTH) return { ok: false, reason: 'bad user_id' };
  const when = new Date(occurredAt ?? '');
  if (Number.isNaN(when.getTime())) return { ok: false, reason: 'bad occurred_at' };
  let data: unknown;
  try {
    data = JSON.parse(payload ?? '');
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, reason: 'payload is not an object' };
  return { ok: true, event: { eventId: eventId.toLowerCase(), type, userId, occurredAt: when, data: data as Record<string, unknown> } };
}
