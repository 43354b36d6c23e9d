/** JSON schemas of the orders API (contract: "Sample services"). Strict: no extra properties, no coercion. */
import { Type, type Static } from '@sinclair/typebox';
import { IDEMPOTENCY_KEY_PATTERN } from '@keygate/service-kit';

export const CreateOrderBody = Type.Object(
  {
    item: Type.String({ minLength: 1, maxLength: 200 }),
    quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
  },
  { additionalProperties: false },
);
export type CreateOrderBody = Static<typeof CreateOrderBody>;

/** Optional Idempotency-Key (service-kit's shape); other headers are not this schema's business. */
export const CreateOrderHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ pattern: IDEMPOTENCY_KEY_PATTERN })),
});

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
