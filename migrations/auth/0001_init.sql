-- 0001: the auth service's tables, in their own schema. Frozen once released: add 0002_… instead.
create schema if not exists auth;

create table auth.users (
  id uuid primary key default gen_random_uuid(),
  -- Normalised before it gets here (trim, Unicode NFC, lowercase); unique is the race-proof check.
  email text not null unique,
  password_hash text not null,
  role text not null default 'user' check (role in ('user', 'admin')),
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  password_changed_at timestamptz
);
create index users_admin_idx on auth.users (role) where role = 'admin';

-- One row per login (a refresh-token family). Rotation locks this row (select … for update).
create table auth.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  client_id text not null,
  ip text,
  user_agent text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  idle_expires_at timestamptz not null,
  absolute_expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  check (idle_expires_at <= absolute_expires_at)
);
create index sessions_user_idx on auth.sessions (user_id) where revoked_at is null;

-- Every refresh token ever issued, by SHA-256 only, chained in its session.
create table auth.refresh_tokens (
  token_hash bytea primary key check (octet_length(token_hash) = 32),
  session_id uuid not null references auth.sessions (id) on delete cascade,
  parent_hash bytea,
  created_at timestamptz not null default now(),
  spent_at timestamptz,
  successor_hash bytea,
  -- The successor token sealed with AES-256-GCM (key derived from KEY_ENCRYPTION_KEY), kept only
  -- while REFRESH_GRACE may still hand it back; cleared afterwards.
  successor_sealed text,
  check ((spent_at is null) = (successor_hash is null))
);
create index refresh_tokens_session_idx on auth.refresh_tokens (session_id);
create index refresh_tokens_sealed_idx on auth.refresh_tokens (spent_at) where successor_sealed is not null;
-- At most one unspent token per session: the head of the chain.
create unique index refresh_tokens_one_live_idx on auth.refresh_tokens (session_id) where spent_at is null;

-- Signing keys: next (published, not yet signing), current (signing), previous (published until
-- every token it signed has expired), retired (kept for the record, never published).
create table auth.signing_keys (
  kid text primary key,
  alg text not null,
  state text not null check (state in ('next', 'current', 'previous', 'retired')),
  public_jwk jsonb not null,
  private_key_sealed text not null,
  created_at timestamptz not null default now(),
  activates_at timestamptz not null,
  -- When it stopped signing (became previous).
  deactivated_at timestamptz,
  retires_at timestamptz
);
create unique index signing_keys_one_current_idx on auth.signing_keys (state) where state = 'current';
create unique index signing_keys_one_next_idx on auth.signing_keys (state) where state = 'next';

-- Security-relevant events. Never passwords, tokens or keys.
create table auth.audit_events (
  id bigserial primary key,
  at timestamptz not null default now(),
  event text not null,
  user_id uuid,
  session_id uuid,
  ip text,
  user_agent text,
  details jsonb not null default '{}'::jsonb
);
create index audit_events_user_idx on auth.audit_events (user_id, at);
create index audit_events_session_idx on auth.audit_events (session_id);
