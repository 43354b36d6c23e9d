/**
 * The `order_placed` event on the wire between orders and notifications: the bus stream
 * `order-events`, one entry per event, every field a string. notifications parses the same shape
 * on its side (services never import each other), so a change here is a change of that contract.
 *
 * Fields: event_id (uuid, the de-duplication key), type, user_id, occurred_at (ISO 8601),
 * payload (JSON object text; for order_placed `{order_id, item, quantity}`).
 */
export const ORDER_EVENTS_STREAM = 'order-events';
export const ORDER_PLACED = 'order_placed';

export interface OrderPlacedPayload {
  order_id: string;
  item: string;
  quantity: number;
}

export interface OutboxEvent {
  eventId: string;
  type: string;
  userId: string;
  payload: unknown;
  createdAt: Date;
}

export function toStreamFields(event: OutboxEvent): Record<string, string> {
  return {
    event_id: event.eventId,
    type: event.type,
    user_id: event.userId,
    occurred_at: event.createdAt.toISOString(),
    payload: JSON.stringify(event.payload),
  };
}
