-- orders: the sample service's own schema. Orders and the transactional outbox live together so
-- that placing an order and recording its `order_placed` event commit (or fail) as one.
create schema if not exists orders;

create table orders.orders (
  id uuid primary key,
  -- The gateway's X-User-ID (a token's `sub`): a user id, or a client id for service accounts.
  user_id text not null,
  item text not null check (char_length(item) between 1 and 200),
  quantity integer not null check (quantity between 1 and 1000),
  status text not null default 'placed',
  created_at timestamptz not null default now()
);

-- Keyset pagination, newest first: own orders, and every order for admins.
create index orders_user_created_idx on orders.orders (user_id, created_at desc, id desc);
create index orders_created_idx on orders.orders (created_at desc, id desc);

create table orders.outbox (
  event_id uuid primary key,
  type text not null,
  user_id text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  -- Set once the relay has appended the event to the bus stream; kept for auditing and replays.
  relayed_at timestamptz
);

-- The relay only ever looks at what is still waiting.
create index outbox_pending_idx on orders.outbox (created_at, event_id) where relayed_at is null;
