/** The notifications schema as kysely sees it (migrations/notifications is the source of truth). */
import type { Selectable } from 'kysely';

export interface NotificationsTable {
  id: string;
  event_id: string;
  user_id: string;
  type: string;
  /** jsonb: written as JSON text (both drivers pass a string through), read back parsed. */
  data: unknown;
  created_at: Date;
  read_at: Date | null;
}

export interface NotificationsDatabase {
  'notifications.notifications': NotificationsTable;
}

export type NotificationRow = Selectable<NotificationsTable>;
