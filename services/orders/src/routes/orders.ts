/**
 * POST /orders, GET /orders, GET /orders/{id}. Every caller is `request.user` (gateway-trust ran
 * first); role admin reads everyone's orders, anyone else only their own, and another user's
 * order is a 404 exactly like an unknown one. POST /orders honours Idempotency-Key: a repeat of
 * the same request with the same key gets the first answer again (201, same order, marked
 * `Idempotent-Replayed: true`) instead of a second order; nginx relies on it to resend a POST
 * whose connection was reset (infra/nginx).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { IDEMPOTENT_REPLAYED_HEADER, errorSchema, idempotencyKeyOf } from '@keygate/service-kit';
import { idempotencyKeyReused, orderNotFound } from '../errors.js';
import { IDEMPOTENCY_KEY_LIFETIME_SECONDS, requestHash } from '../idempotency.js';
import { findOrder, listOrders, placeOrder, placeOrderOnce } from '../repositories/orders.js';
import type { OrderRow, OrdersDatabase } from '../repositories/tables.js';
import { IdParams, PageQuery } from '@keygate/sample-service';
import { CreateOrderBody, CreateOrderHeaders, Order, OrderList } from '../schemas/orders.js';

export interface OrderRoutesOptions {
  db: Kysely<OrdersDatabase>;
  /** Called after an order (and its outbox event) committed. */
  onPlaced: (order: OrderRow) => void;
}

const ADMIN_ROLE = 'admin';

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    user_id: row.user_id,
    item: row.item,
    quantity: row.quantity,
    status: 'placed',
    created_at: new Date(row.created_at).toISOString(),
  };
}

export const orderRoutes: FastifyPluginAsyncTypebox<OrderRoutesOptions> = async (app, { db, onPlaced }) => {
  // Only JSON bodies: fastify would otherwise parse text/plain into a string and answer 400, not 415.
  app.removeContentTypeParser('text/plain');

  app.post(
    '/orders',
    {
      schema: {
        headers: CreateOrderHeaders,
        body: CreateOrderBody,
        response: { 201: Order, 400: errorSchema, 401: errorSchema, 413: errorSchema, 415: errorSchema, 422: errorSchema, 503: errorSchema },
      },
    },
    async (request, reply) => {
      const order = { id: randomUUID(), userId: request.user.id, item: request.body.item, quantity: request.body.quantity };
      // The schema has checked the header's shape: reading it only takes the quotes off.
      const key = idempotencyKeyOf(request.headers);
      let row: OrderRow;
      let replayed = false;
      if (key === undefined) row = await placeOrder(db, order, randomUUID());
      else {
        const placed = await placeOrderOnce(db, order, randomUUID(), { key, requestHash: requestHash(request.body), lifetimeSeconds: IDEMPOTENCY_KEY_LIFETIME_SECONDS });
        if (placed.outcome === 'key_reused') throw idempotencyKeyReused();
        row = placed.order;
        replayed = placed.outcome === 'replayed';
      }
      if (replayed) {
        // The first answer again, marked: nothing was placed, nothing is announced.
        void reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
        request.log.info({ orderId: row.id }, 'order request replayed');
      } else {
        onPlaced(row);
        request.log.info({ orderId: row.id }, 'order placed');
      }
      void reply.code(201).header('location', `/orders/${row.id}`);
      return toOrder(row);
    },
  );

  app.get(
    '/orders',
    { schema: { querystring: PageQuery, response: { 200: OrderList, 400: errorSchema, 401: errorSchema, 503: errorSchema } } },
    async (request) => {
      const rows = await listOrders(db, {
        ownerId: request.user.role === ADMIN_ROLE ? undefined : request.user.id,
        limit: Number(request.query.limit),
        before: request.query.before,
      });
      return rows.map(toOrder);
    },
  );

  app.get(
    '/orders/:id',
    { schema: { params: IdParams, response: { 200: Order, 400: errorSchema, 401: errorSchema, 404: errorSchema, 503: errorSchema } } },
    async (request) => {
      const row = await findOrder(db, request.params.id, request.user.role === ADMIN_ROLE ? undefined : request.user.id);
      if (!row) throw orderNotFound();
      return toOrder(row);
    },
  );
};
