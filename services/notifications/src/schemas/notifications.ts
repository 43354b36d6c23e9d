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

export const NotificationParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** 1 to 200, no leading zeros or signs. */
export const PAGE_SIZE_PATTERN = '^(?:[1-9][0-9]?|1[0-9]{2}|200)$';

export const ListNotificationsQuery = Type.Object(
  {
    /** Page size 1..200. A decimal string: the service's ajv never coerces, query values included. */
    limit: Type.String({ pattern: PAGE_SIZE_PATTERN, default: '50' }),
    /** The id of the last notification of the previous page. */
    before: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
