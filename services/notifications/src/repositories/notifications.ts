/** Notifications storage. Inserting is idempotent per event id: a redelivered event changes nothing. */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ConsumedEvent } from '../events.js';
import type { NotificationRow, NotificationsDatabase } from './tables.js';

/** Stores one notification per event not seen before; returns how many were new. */
export async function storeNotifications(db: Kysely<NotificationsDatabase>, events: readonly ConsumedEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const inserted = await db
    .insertInto('notifications.notifications')
    .values(
      events.map((event) => ({
        id: randomUUID(),
        event_id: event.eventId,
        user_id: event.userId,
        type: event.type,
        data: JSON.stringify(event.data),
        created_at: event.occurredAt,
      })),
    )
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .execute();
  return inserted.length;
}

export interface ListNotificationsOptions {
  userId: string;
  limit: number;
  /** Keyset cursor: notifications older than this one (which must be the caller's own). */
  before?: string | undefined;
}

/** The user's notifications, newest first, ties broken by id so pages never overlap or skip. */
export async function listNotifications(db: Kysely<NotificationsDatabase>, options: ListNotificationsOptions): Promise<NotificationRow[]> {
  let query = db.selectFrom('notifications.notifications').selectAll().where('user_id', '=', options.userId);
  if (options.before !== undefined) {
    query = query.where(
      sql<boolean>`(created_at, id) < (select c.created_at, c.id from notifications.notifications c where c.id = ${options.before} and c.user_id = ${options.userId})`,
    );
  }
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
}

/** Marks the user's notification read (keeping the first read time); false if there is no such notification of theirs. */
export async function markRead(db: Kysely<NotificationsDatabase>, id: string, userId: string): Promise<boolean> {
  const row = await db
    .updateTable('notifications.notifications')
    .set({ read_at: sql<Date>`coalesce(read_at, now())` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
