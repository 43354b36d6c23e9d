-- 0006: OpenID Connect and consent (issue 17; contract, "Browsers and OpenID Connect").

-- email_verified of ID tokens, userinfo and /auth/me: null until the address is verified. The email
-- verification work adds the same column; both migrations say IF NOT EXISTS so either order works.
alter table auth.users add column if not exists email_verified_at timestamptz;

-- auth_time (OIDC Core §2): when the user last typed the password for this session. Sessions of
-- before this migration were started by a password check at their creation.
alter table auth.sessions add column auth_time timestamptz;
update auth.sessions set auth_time = created_at;
alter table auth.sessions alter column auth_time set default now(), alter column auth_time set not null;

-- What the sign-in form carried into the code: the client's OIDC nonce (echoed in the ID token)
-- and the moment the password was checked.
alter table auth.authorization_codes
  add column nonce text,
  add column auth_time timestamptz;

-- RP-initiated logout: where a client may send the browser after GET /oauth/logout (exact match).
alter table auth.oauth_clients add column post_logout_redirect_uris text[] not null default '{}';

-- Consents of third-party clients: the scopes a user approved for a client, remembered so the
-- consent page is not shown again for the same or fewer scopes. Withdrawn by
-- DELETE /auth/consents/{client_id}; gone with the user or the client.
create table auth.consents (
  user_id uuid not null references auth.users (id) on delete cascade,
  client_id text not null references auth.oauth_clients (id) on delete cascade,
  scopes text[] not null,
  granted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, client_id)
);
create index consents_client_idx on auth.consents (client_id);
