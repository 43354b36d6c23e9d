-- 0010: auth.rotate_refresh_token (0009) with the same arguments, result, steps and guarantees
-- in three statements instead of eight for a rotation (issue 19; docs/decisions-auth.md,
-- "Refresh rotation: three statements inside the function"). PostgreSQL's CPU per refresh was
-- ~0.45 ms, half of it the function's statements, each with its own executor start-up, plan-cache
-- check and snapshot:
--   1. the presented token's session, locked (`for update of se`), joined with its user: 0009 read
--      the token, then locked the session, then read the user (three statements);
--   2. the session's checks, as before (client, revocation, expiry, user);
--   3. one statement with data-modifying CTEs that spends the token only if it is still unspent
--      (`where spent_at is null`), and, from the rows that spend returned, inserts the successor,
--      clears the parent's sealed successor, slides the idle expiry and writes the audit row. 0009
--      re-read the token under the lock and then ran those five writes one by one.
-- Why the CTEs are safe here, when the decision of 0009 refused one statement with CTEs for the
-- whole rotation: that statement's snapshot would be taken before it waited for the session lock.
-- Here the lock is taken by statement 1 and the CTE statement starts after it, with a snapshot of
-- its own: every rotation of this session that held the lock before has committed and is seen, so
-- a token spent by one of them is not matched by `spent_at is null`, nothing is written, and the
-- grace/reuse branch reads the token as 0009 did. Every write of the rotation depends on the spend
-- returning its row, so they happen together or not at all.
-- The grace retry and the reuse revocation (the rare paths) are 0009's statements unchanged. The
-- returned row is 0009's too (the session before a reuse revocation, the user for every outcome
-- past the session's own checks).
create or replace function auth.rotate_refresh_token(
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
  r record;
  v_spent boolean;
  v_now timestamptz := now();
  v_idle timestamptz;
  t auth.refresh_tokens%rowtype;
begin
  select se.*, us.id is not null as user_found, us.disabled as user_disabled, us.email as user_email, us.role as user_role, us.email_verified_at as user_email_verified_at
    into r
    from auth.sessions se
    left join auth.users us on us.id = se.user_id
    where se.id = (select rt.session_id from auth.refresh_tokens rt where rt.token_hash = p_presented)
    for update of se;
  if not found then
    outcome := 'unknown_token';
    return next;
    return;
  end if;

  if p_client_id is not null and r.client_id <> p_client_id then
    outcome := 'wrong_client';
  elsif r.revoked_at is not null then
    outcome := 'session_revoked';
  elsif r.absolute_expires_at <= v_now or r.idle_expires_at <= v_now then
    outcome := 'session_expired';
  elsif not r.user_found or r.user_disabled then
    outcome := 'user_disabled';
  end if;

  if outcome is null then
    v_idle := least(v_now + make_interval(secs => p_idle_seconds), r.absolute_expires_at);
    with spent as (
      update auth.refresh_tokens rt
        set spent_at = v_now, successor_hash = p_successor, successor_sealed = p_successor_sealed
        where rt.token_hash = p_presented and rt.spent_at is null
        returning rt.parent_hash
    ), successor as (
      insert into auth.refresh_tokens (token_hash, session_id, parent_hash)
        select p_successor, r.id, p_presented from spent
    ), parent as (
      update auth.refresh_tokens rt set successor_sealed = null
        where rt.token_hash = (select sp.parent_hash from spent sp) and rt.successor_sealed is not null
    ), touched as (
      update auth.sessions se set last_used_at = v_now, idle_expires_at = v_idle
        where se.id = r.id and exists (select 1 from spent)
    ), audited as (
      insert into auth.audit_events (event, user_id, session_id, ip, user_agent)
        select 'refresh', r.user_id, r.id, p_ip, p_user_agent from spent
    )
    select true into v_spent from spent;
    if v_spent then
      r.last_used_at := v_now;
      r.idle_expires_at := v_idle;
      outcome := 'rotated';
    else
      select * into t from auth.refresh_tokens rt where rt.token_hash = p_presented;
      if t.spent_at + make_interval(secs => p_grace_seconds) >= v_now
        and t.successor_hash is not null
        and t.successor_sealed is not null
        and exists (select 1 from auth.refresh_tokens rt where rt.token_hash = t.successor_hash and rt.spent_at is null) then
        outcome := 'grace_retry';
        successor_sealed := t.successor_sealed;
      else
        update auth.sessions se set revoked_at = v_now, revoked_reason = 'refresh_token_reuse'
          where se.id = r.id and se.revoked_at is null;
        insert into auth.audit_events (event, user_id, session_id, ip, user_agent, details)
          values ('refresh_reuse_detected', r.user_id, r.id, p_ip, p_user_agent,
                  jsonb_build_object('spent_at', to_char(t.spent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
        outcome := 'reuse_detected';
      end if;
    end if;
  end if;

  id := r.id;
  user_id := r.user_id;
  client_id := r.client_id;
  ip := r.ip;
  user_agent := r.user_agent;
  created_at := r.created_at;
  last_used_at := r.last_used_at;
  idle_expires_at := r.idle_expires_at;
  absolute_expires_at := r.absolute_expires_at;
  revoked_at := r.revoked_at;
  revoked_reason := r.revoked_reason;
  scope := r.scope;
  auth_time := r.auth_time;
  amr := r.amr;
  remember := r.remember;
  -- As 0009: the user is returned once it was read (every outcome past the session's own checks).
  if outcome not in ('wrong_client', 'session_revoked', 'session_expired') then
    user_email := r.user_email;
    user_role := r.user_role;
    user_email_verified_at := r.user_email_verified_at;
  end if;
  return next;
end;
$$;
