/** Orders storage: placing an order writes its outbox event in the same transaction. */
import { sql, type Kysely } from 'kysely';
import { ORDER_PLACED, type OrderPlacedPayload } from '../events.js';
import type { OrderRow, OrdersDatabase } from './tables.js';

export interface NewOrder {
  id: string;
  userId: string;
  item: string;
  quantity: number;
}

/** Inserts the order and its `order_placed` outbox row atomically: no order without its event, no event without its order. */
export async function placeOrder(db: Kysely<OrdersDatabase>, order: NewOrder, eventId: string): Promise<OrderRow> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('orders.orders')
      .values({ id: order.id, user_id: order.userId, item: order.item, quantity: order.quantity })
      .returningAll()
      .executeTakeFirstOrThrow();
    const payload: OrderPlacedPayload = { order_id: row.id, item: row.item, quantity: row.quantity };
    await trx
      .insertInto('orders.outbox')
      .values({ event_id: eventId, type: ORDER_PLACED, user_id: row.user_id, payload: JSON.stringify(payload) })
      .execute();
    return row;
  });
}

/** The order, if it exists and (when ownerId is given) belongs to that user. */
export async function findOrder(db: Kysely<OrdersDatabase>, id: string, ownerId?: string): Promise<OrderRow | undefined> {
  let query = db.selectFrom('orders.orders').selectAll().where('id', '=', id);
  if (ownerId !== undefined) query = query.where('user_id', '=', ownerId);
  return query.executeTakeFirst();
}

export interface ListOrdersOptions {
  /** Only this user's orders; undefined lists everyone's (admin). */
  ownerId?: string | undefined;
  limit: number;
  /** Keyset cursor: orders older than this order (which must itself be visible to the caller). */
  before?: string | undefined;
}

/** Newest first, ties broken by id, so pages never overlap or skip. */
export async function listOrders(db: Kysely<OrdersDatabase>, options: ListOrdersOptions): Promise<OrderRow[]> {
  let query = db.selectFrom('orders.orders').selectAll();
  if (options.ownerId !== undefined) query = query.where('user_id', '=', options.ownerId);
  if (options.before !== undefined) {
    // The cursor order must be one the caller may see, or its position would leak another user's timing.
    const ownerFilter = options.ownerId === undefined ? sql`` : sql`and c.user_id = ${options.ownerId}`;
    query = query.where(
      sql<boolean>`(created_at, id) < (select c.created_at, c.id from orders.orders c where c.id = ${options.before} ${ownerFilter})`,
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
}
