-- orders: Idempotency-Key (issue 20). One row per (user, key) that placed an order, written in the
-- order's own transaction: the primary key is what turns concurrent or resent duplicates into one
-- order (the second insert waits for the first transaction, then finds its row). request_hash is
-- the SHA-256 of the canonical request ({item, quantity}), so the same key with another request is
-- refused rather than answered with an order it did not ask for. Rows older than the key lifetime
-- (24 h) no longer count and are purged by the outbox relay's pruning.
create table orders.idempotency_keys (
  user_id text not null,
  key text not null check (char_length(key) between 1 and 255),
  request_hash text not null,
  -- Deferred: the key row is inserted first (it is the lock), the order after it.
  order_id uuid not null references orders.orders (id) deferrable initially deferred,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);

create index idempotency_keys_created_idx on orders.idempotency_keys (created_at);
