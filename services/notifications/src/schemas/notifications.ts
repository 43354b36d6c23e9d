/** JSON schemas of the notifications API (contract: "Sample services"). Strict: no extra properties, no coercion. */
import { Type, type Static } from '@sinclair/typebox';

export const Notification = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_id: Type.String(),
  type: Type.String(),
  /** The event's details; for order_placed `{order_id, item, quantity}`. */
  data: Type.Object({}, { additionalProperties: true }),
  read: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});
export type Notification = Static<typeof Notification>;

export const NotificationList = Type.Array(Notification);
