-- 0008: TOTP second factor, "remember me", and what account deletion needs (contract, "Accounts").

-- One TOTP factor per user. The secret is sealed with AES-256-GCM under a key derived from
-- KEY_ENCRYPTION_KEY (like the signing keys' private parts). `confirmed_at` null: enrolment
-- started, not yet proven with a code, so login does not ask for it. `last_used_step` is the
-- RFC 6238 time step of the last accepted code: a code of that step or earlier is refused, so a
-- code works once even within its ±1-step window.
create table auth.mfa_totp (
  user_id uuid primary key references auth.users (id) on delete cascade,
  secret_sealed text not null,
  created_at timestamptz not null default now(),
  confirmed_at timestamptz,
  last_used_step bigint
);

-- Ten single-use recovery codes per confirmed factor, by SHA-256 only (80 random bits each, so a
-- slow hash adds nothing); `used_at` set when one is spent.
create table auth.mfa_recovery_codes (
  user_id uuid not null references auth.users (id) on delete cascade,
  code_hash bytea not null check (octet_length(code_hash) = 32),
  used_at timestamptz,
  primary key (user_id, code_hash)
);

-- The first step of a two-step login: the password was right, the code is still to come.
-- Single use (`used_at`), valid 5 minutes, by SHA-256 only. `remember` is the login's choice,
-- carried to the session the second step starts.
create table auth.mfa_login_tokens (
  token_hash bytea primary key check (octet_length(token_hash) = 32),
  user_id uuid not null references auth.users (id) on delete cascade,
  remember boolean not null default false,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index mfa_login_tokens_expires_idx on auth.mfa_login_tokens (expires_at);

-- How the session's user authenticated (RFC 8176 `amr` values), put in every access token of it
-- so a refresh keeps it. Every session before this migration was a password login.
alter table auth.sessions add column amr text[] not null default array['pwd'];
-- Remember me: whether the refresh cookie carries Max-Age (persistent) or is a browser-session
-- cookie. Sessions before this migration were given Max-Age cookies, so they stay persistent.
alter table auth.sessions add column remember boolean not null default true;

-- The `amr` of the sign-in behind an authorization code, carried to the session its exchange starts.
alter table auth.authorization_codes add column amr text[] not null default array['pwd'];

-- Sessions of deleted accounts: the session rows go with the user row (on delete cascade), but
-- the gateways must keep refusing their access tokens for ACCESS_TOKEN_TTL + skew, and the
-- re-announcer after a Redis outage reads revocations from here. No user id, nothing personal.
create table auth.deleted_account_sessions (
  session_id uuid primary key,
  revoked_at timestamptz not null default now()
);
create index deleted_account_sessions_revoked_idx on auth.deleted_account_sessions (revoked_at);
