-- 0007: mail outbox, email verification and password reset (issue 18 part A; docs/decisions-auth.md).

-- Shared with migration 0006 (OpenID Connect's email_verified): whichever runs first adds it.
alter table auth.users add column if not exists email_verified_at timestamptz;

-- Mail waits here until an SMTP server took it: written in the transaction of the change that
-- causes it, so a mail is never lost while the SMTP server is down. A sender claims rows with
-- FOR UPDATE SKIP LOCKED and a lease (`claimed_until`): one send per message across instances,
-- and a crashed sender's claim runs out.
create table auth.mail_outbox (
  id bigserial primary key,
  kind text not null,
  to_address text not null,
  subject text not null,
  text_body text not null,
  html_body text not null,
  created_at timestamptz not null default now(),
  next_attempt_at timestamptz not null default now(),
  attempts integer not null default 0,
  claim_id uuid,
  claimed_until timestamptz,
  sent_at timestamptz,
  -- A permanent refusal (SMTP 5xx): never retried, kept for the operator.
  failed_at timestamptz,
  last_error text
);
create index mail_outbox_due_idx on auth.mail_outbox (next_attempt_at) where sent_at is null and failed_at is null;

-- Single-use tokens mailed to a user (email verification, password reset): only the SHA-256 of
-- the token is stored.
create table auth.account_tokens (
  token_hash bytea primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  purpose text not null check (purpose in ('verify_email', 'password_reset')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index account_tokens_user_idx on auth.account_tokens (user_id, purpose);
create index account_tokens_expires_idx on auth.account_tokens (expires_at);
