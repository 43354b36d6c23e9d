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
  return db.transaction().execute((trx) => insertOrder(trx, order, eventId));
}

async function insertOrder(trx: Kysely<OrdersDatabase>, order: NewOrder, eventId: string): Promise<OrderRow> {
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
}

export interface IdempotencyKey {
  /** The key as the client meant it (quotes removed), 1..255 characters. */
  key: string;
  /** Fingerprint of the request (SHA-256 hex of its canonical form). */
  requestHash: string;
  /** A key older than this no longer counts: a new request with it places a new order. */
  lifetimeSeconds: number;
}

export type KeyedPlacement =
  | { outcome: 'placed' | 'replayed'; order: OrderRow }
  /** The key placed an order for another request: nothing was done. */
  | { outcome: 'key_reused' };

/**
 * placeOrder with an Idempotency-Key: the first request with (user, key) places the order and
 * records the key in the same transaction; a later one with the same request gets that order back
 * (`replayed`), with another request `key_reused`. The key row is inserted first: a concurrent
 * duplicate (a resend overtaking its original, twenty clicks) blocks on the primary key until the
 * first transaction ends, then finds its row, so there is never a second order and no visible
 * "in progress" state (the draft's 409) to report.
 */
export async function placeOrderOnce(db: Kysely<OrdersDatabase>, order: NewOrder, eventId: string, idempotency: IdempotencyKey): Promise<KeyedPlacement> {
  const expired = sql<boolean>`orders.idempotency_keys.created_at <= now() - make_interval(secs => ${idempotency.lifetimeSeconds})`;
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .insertInto('orders.idempotency_keys')
      .values({ user_id: order.userId, key: idempotency.key, request_hash: idempotency.requestHash, order_id: order.id })
      // An expired row is taken over (not yet purged); a live one is left alone and read below.
      .onConflict((oc) =>
        oc
          .columns(['user_id', 'key'])
          .doUpdateSet({ request_hash: idempotency.requestHash, order_id: order.id, created_at: sql<Date>`now()` })
          .where(expired),
      )
      .returning('order_id')
      .executeTakeFirst();
    if (claimed) return { outcome: 'placed', order: await insertOrder(trx, order, eventId) };
    const previous = await trx
      .selectFrom('orders.idempotency_keys as k')
      .innerJoin('orders.orders as o', 'o.id', 'k.order_id')
      .selectAll('o')
      .select('k.request_hash')
      .where('k.user_id', '=', order.userId)
      .where('k.key', '=', idempotency.key)
      .executeTakeFirstOrThrow();
    if (previous.request_hash !== idempotency.requestHash) return { outcome: 'key_reused' };
    const { request_hash: _hash, ...row } = previous;
    return { outcome: 'replayed', order: row };
  });
}

/** Deletes up to `limit` keys older than their lifetime; returns how many. */
export async function pruneExpiredKeys(db: Kysely<OrdersDatabase>, lifetimeSeconds: number, limit: number): Promise<number> {
  // A bounded batch, like the outbox's pruning: one purge never holds locks for long.
  const result = await sql`
    delete from orders.idempotency_keys
    where (user_id, key) in (
      select user_id, key from orders.idempotency_keys
      where created_at <= now() - make_interval(secs => ${lifetimeSeconds})
      limit ${limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
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
