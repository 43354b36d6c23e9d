-- 0009: refresh rotation as one function call, one round trip (issue 19; docs/decisions-auth.md,
-- "Refresh rotation: one statement, a plpgsql function").
--
-- The same steps, in the same order, as the transaction it replaces (services/auth/src/sessions/
-- service.ts before issue 19): find the token, lock its session (`for update`: every rotation of
-- one session runs after the other), check client, revocation, expiry and user, re-read the token
-- under the lock, then either spend it and write its successor, or hand back the sealed successor
-- (grace retry), or revoke the session (reuse). Called as one statement, it is atomic on its own
-- (no begin/commit). It must be plpgsql, not one SQL statement with CTEs: in READ COMMITTED each
-- statement inside a volatile function takes a new snapshot, so the re-read after the lock sees
-- the spend a concurrent rotation has just committed; the CTEs of one statement all share the
-- snapshot taken before the lock wait, and would see the token still unspent.
--
-- The caller generates and seals the successor before the call (random bytes and AES-GCM; wasted
-- only when the rotation is refused), and opens a handed-back sealed successor itself: the key
-- (KEY_ENCRYPTION_KEY) never reaches the database.
--
-- outcome: rotated | grace_retry | unknown_token | wrong_client | session_revoked |
-- session_expired | user_disabled | reuse_detected. The session columns are the session as it is
-- after the call (idle expiry slid on 'rotated'); null for unknown_token.
create function auth.rotate_refresh_token(
  p_presented bytea,
  p_successor bytea,
  p_successor_sealed text,
  p_client_id text,
  p_idle_seconds double precision,
  p_grace_seconds double precision,
  p_ip text,
  p_user_agent text
) returns table (
  outcome text,
  id uuid,
  user_id uuid,
  client_id text,
  ip text,
  user_agent text,
  created_at timestamptz,
  last_used_at timestamptz,
  idle_expires_at timestamptz,
  absolute_expires_at timestamptz,
  revoked_at timestamptz,
  revoked_reason text,
  scope text,
  auth_time timestamptz,
  amr text[],
  remember boolean,
  user_email text,
  user_role text,
  user_email_verified_at timestamptz,
  successor_sealed text
)
language plpgsql
volatile
as $$
#variable_conflict use_column
declare
  v_session_id uuid;
  s auth.sessions%rowtype;
  u auth.users%rowtype;
  t auth.refresh_tokens%rowtype;
begin
  select rt.session_id into v_session_id from auth.refresh_tokens rt where rt.token_hash = p_presented;
  if not found then
    outcome := 'unknown_token';
    return next;
    return;
  end if;

  select * into s from auth.sessions se where se.id = v_session_id for update;
  if not found then
    outcome := 'unknown_token';
    return next;
    return;
  end if;

  if p_client_id is not null and s.client_id <> p_client_id then
    outcome := 'wrong_client';
  elsif s.revoked_at is not null then
    outcome := 'session_revoked';
  elsif s.absolute_expires_at <= now() or s.idle_expires_at <= now() then
    outcome := 'session_expired';
  else
    select * into u from auth.users us where us.id = s.user_id;
    if not found or u.disabled then
      outcome := 'user_disabled';
    end if;
  end if;

  if outcome is null then
    -- Re-read under the lock: a rotation of this session that held the lock before us may have
    -- just spent it (a new snapshot: this function is volatile).
    select * into t from auth.refresh_tokens rt where rt.token_hash = p_presented;

    if t.spent_at is null then
      update auth.refresh_tokens rt
        set spent_at = now(), successor_hash = p_successor, successor_sealed = p_successor_sealed
        where rt.token_hash = p_presented and rt.spent_at is null;
      insert into auth.refresh_tokens (token_hash, session_id, parent_hash) values (p_successor, s.id, p_presented);
      -- Using this token closes its predecessor's grace window.
      if t.parent_hash is not null then
        update auth.refresh_tokens rt set successor_sealed = null
          where rt.token_hash = t.parent_hash and rt.successor_sealed is not null;
      end if;
      -- The idle expiry slides, never past the absolute expiry, which is never written.
      update auth.sessions se
        set last_used_at = now(), idle_expires_at = least(now() + make_interval(secs => p_idle_seconds), se.absolute_expires_at)
        where se.id = s.id
        returning se.last_used_at, se.idle_expires_at into s.last_used_at, s.idle_expires_at;
      insert into auth.audit_events (event, user_id, session_id, ip, user_agent)
        values ('refresh', u.id, s.id, p_ip, p_user_agent);
      outcome := 'rotated';
    elsif t.spent_at + make_interval(secs => p_grace_seconds) >= now()
      and t.successor_hash is not null
      and t.successor_sealed is not null
      and exists (select 1 from auth.refresh_tokens rt where rt.token_hash = t.successor_hash and rt.spent_at is null) then
      -- The grace exception: spent within REFRESH_GRACE and its successor still unused.
      outcome := 'grace_retry';
      successor_sealed := t.successor_sealed;
    else
      -- Theft detection: the whole family (the session) is revoked in this same statement.
      update auth.sessions se set revoked_at = now(), revoked_reason = 'refresh_token_reuse'
        where se.id = s.id and se.revoked_at is null;
      insert into auth.audit_events (event, user_id, session_id, ip, user_agent, details)
        values ('refresh_reuse_detected', u.id, s.id, p_ip, p_user_agent,
                jsonb_build_object('spent_at', to_char(t.spent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
      outcome := 'reuse_detected';
    end if;
  end if;

  id := s.id;
  user_id := s.user_id;
  client_id := s.client_id;
  ip := s.ip;
  user_agent := s.user_agent;
  created_at := s.created_at;
  last_used_at := s.last_used_at;
  idle_expires_at := s.idle_expires_at;
  absolute_expires_at := s.absolute_expires_at;
  revoked_at := s.revoked_at;
  revoked_reason := s.revoked_reason;
  scope := s.scope;
  auth_time := s.auth_time;
  amr := s.amr;
  remember := s.remember;
  user_email := u.email;
  user_role := u.role;
  user_email_verified_at := u.email_verified_at;
  return next;
end;
$$;
