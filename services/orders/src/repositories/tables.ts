/** The orders schema as kysely sees it (migrations/orders is the source of truth). */
import type { Generated, Selectable } from 'kysely';

export interface OrdersTable {
  id: string;
  user_id: string;
  item: string;
  quantity: number;
  status: Generated<string>;
  created_at: Generated<Date>;
}

export interface OutboxTable {
  event_id: string;
  type: string;
  user_id: string;
  /** jsonb: written as JSON text (both drivers pass a string through), read back parsed. */
  payload: unknown;
  created_at: Generated<Date>;
  relayed_at: Date | null;
}

/** An Idempotency-Key that placed an order: (user_id, key) is the primary key. */
export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  /** SHA-256 (hex) of the canonical request the key was first used with. */
  request_hash: string;
  order_id: string;
  created_at: Generated<Date>;
}

export interface OrdersDatabase {
  'orders.orders': OrdersTable;
  'orders.outbox': OutboxTable;
  'orders.idempotency_keys': IdempotencyKeysTable;
}

export type OrderRow = Selectable<OrdersTable>;
export type OutboxRow = Selectable<OutboxTable>;
