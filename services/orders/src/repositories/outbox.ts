/**
 * The outbox side of the relay: hand waiting events to a sender and mark them relayed, in one
 * transaction. `for update skip locked` lets several orders instances relay at once without
 * picking the same rows; if the sender fails, the transaction rolls back and the rows wait for
 * the next round (some may have been sent already: the consumer de-duplicates by event id).
 */
import type { Kysely } from 'kysely';
import type { OutboxEvent } from '../events.js';
import type { OrdersDatabase } from './tables.js';

export async function relayPending(db: Kysely<OrdersDatabase>, limit: number, send: (events: OutboxEvent[]) => Promise<void>): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('orders.outbox')
      .select(['event_id', 'type', 'user_id', 'payload', 'created_at'])
      .where('relayed_at', 'is', null)
      .orderBy('created_at')
      .orderBy('event_id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;
    await send(rows.map((row) => ({ eventId: row.event_id, type: row.type, userId: row.user_id, payload: row.payload, createdAt: new Date(row.created_at) })));
    await trx
      .updateTable('orders.outbox')
      .set({ relayed_at: new Date() })
      .where('event_id', 'in', rows.map((row) => row.event_id))
      .execute();
    return rows.length;
  });
}

/** Events not yet on the bus (the backlog metric). */
export async function countPending(db: Kysely<OrdersDatabase>): Promise<number> {
  const row = await db
    .selectFrom('orders.outbox')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('relayed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Deletes up to `limit` events relayed before `relayedBefore` (the outbox is a queue, not an archive); returns how many. */
export async function pruneRelayed(db: Kysely<OrdersDatabase>, relayedBefore: Date, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('orders.outbox')
    .where('event_id', 'in', (eb) => eb.selectFrom('orders.outbox').select('event_id').where('relayed_at', '<', relayedBefore).limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
