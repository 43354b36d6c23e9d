-- notifications: the sample service's own schema. One row per consumed event: the unique event_id
-- is what makes a redelivered or double-relayed event show up once and only once.
create schema if not exists notifications;

create table notifications.notifications (
  id uuid primary key,
  event_id uuid not null unique,
  -- The user the event belongs to (the gateway's X-User-ID of whoever placed the order).
  user_id text not null,
  type text not null,
  data jsonb not null,
  -- When the event happened (not when it was consumed), so a catch-up keeps the real order.
  created_at timestamptz not null,
  read_at timestamptz
);

create index notifications_user_created_idx on notifications.notifications (user_id, created_at desc, id desc);
