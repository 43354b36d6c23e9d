-- 0011: a login resent with the same Idempotency-Key supersedes the session its first try started
-- (contract, "Sessions"; docs/decisions.md, "Logins honour Idempotency-Key").
--
-- `login_key` is SHA-256 over the Idempotency-Key and what the login asked for (endpoint or
-- grant, client, remember, amr, scope, address, user agent), never the password; null for a
-- login without a key (and for every session started before this migration). A login by the same user with the same
-- `login_key` within the window revokes the earlier live session ('login_superseded') in the same
-- statement that starts the new one.
alter table auth.sessions add column login_key bytea check (octet_length(login_key) = 32);
create index sessions_login_key_idx on auth.sessions (user_id, login_key) where login_key is not null and revoked_at is null;
-- Statistics for the new column at once: without them the function's generic plan may pick
-- sessions_user_idx (the same estimated cost) and filter every live session of the user.
analyze auth.sessions;

-- Revokes the live sessions of `p_user_id` started with `p_login_key` in the last
-- `p_window_seconds`; returns their ids. The transaction-scoped advisory lock serialises two
-- logins with one key (a resend overtaking its own first try): the second waits until the first
-- has committed, and, the function being volatile, its UPDATE then runs on a fresh snapshot that
-- sees the first one's session. Nothing is locked for a login without a key.
create function auth.supersede_login(p_user_id uuid, p_login_key bytea, p_window_seconds integer)
returns text[]
language plpgsql volatile as $$
declare
  ids text[];
begin
  if p_login_key is null then
    return '{}';
  end if;
  perform pg_advisory_xact_lock(hashtextextended(p_user_id::text || encode(p_login_key, 'hex'), 11));
  with revoked as (
    update auth.sessions set revoked_at = now(), revoked_reason = 'login_superseded'
    where user_id = p_user_id and login_key = p_login_key and revoked_at is null
      and created_at > now() - make_interval(secs => p_window_seconds)
    returning id
  )
  select coalesce(array_agg(id::text), '{}') into ids from revoked;
  return ids;
end
$$;
