/** JSON schemas of the orders API (contract: "Sample services"). Strict: no extra properties, no coercion. */
import { Type, type Static } from '@sinclair/typebox';

export const CreateOrderBody = Type.Object(
  {
    item: Type.String({ minLength: 1, maxLength: 200 }),
    quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
  },
  { additionalProperties: false },
);
export type CreateOrderBody = Static<typeof CreateOrderBody>;

export const Order = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_id: Type.String(),
  item: Type.String(),
  quantity: Type.Integer(),
  status: Type.Literal('placed'),
  created_at: Type.String({ format: 'date-time' }),
});
export type Order = Static<typeof Order>;

export const OrderList = Type.Array(Order);

export const OrderParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/** 1 to 200, no leading zeros or signs. */
export const PAGE_SIZE_PATTERN = '^(?:[1-9][0-9]?|1[0-9]{2}|200)$';

export const ListOrdersQuery = Type.Object(
  {
    /** Page size 1..200. A decimal string: the service's ajv never coerces, query values included. */
    limit: Type.String({ pattern: PAGE_SIZE_PATTERN, default: '50' }),
    /** The id of the last order of the previous page. */
    before: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
