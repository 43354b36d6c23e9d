-- 0002: OAuth clients, authorization codes, revoked access tokens, and the scope a session was granted.

-- Registered clients. Public clients have no secret; confidential ones store only the SHA-256 of a
-- 256-bit random secret (high entropy, so a slow hash adds nothing; see docs/decisions-auth.md).
create table auth.oauth_clients (
  id text primary key check (id ~ '^[A-Za-z0-9._-]{1,100}$'),
  name text not null check (char_length(name) between 1 and 200),
  public boolean not null,
  secret_hash bytea check (secret_hash is null or octet_length(secret_hash) = 32),
  grant_types text[] not null,
  redirect_uris text[] not null default '{}',
  scopes text[] not null default '{}',
  created_at timestamptz not null default now(),
  secret_rotated_at timestamptz,
  check (public = (secret_hash is null)),
  check (grant_types <@ array['authorization_code', 'refresh_token', 'client_credentials', 'password']),
  -- Service accounts have no user to log in, so only confidential clients get client_credentials.
  check (not (public and 'client_credentials' = any (grant_types))),
  -- The password grant is for first-party public clients only (RFC 9700 §2.4).
  check (not (not public and 'password' = any (grant_types)))
);

-- The first-party web client the /auth/* cookie flow already names in its tokens (`keygate-web`).
insert into auth.oauth_clients (id, name, public, grant_types)
values ('keygate-web', 'keygate web (first party)', true, array['password', 'refresh_token']);

-- The scope granted at login; refresh grants carry it into each new access token.
alter table auth.sessions add column scope text;

-- Authorization codes (RFC 6749 §4.1, PKCE S256 per RFC 7636), by SHA-256 only. Single use: the
-- exchange locks the row; `session_id` is the session it created, revoked if the code is replayed.
create table auth.authorization_codes (
  code_hash bytea primary key check (octet_length(code_hash) = 32),
  client_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  redirect_uri text not null,
  code_challenge text not null,
  scope text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  session_id uuid references auth.sessions (id) on delete set null
);
create index authorization_codes_expires_idx on auth.authorization_codes (expires_at);

-- Single access tokens revoked through POST /oauth/revoke, kept until the token would have expired
-- anyway; the gateways learn of them from the bus (`type: "token"`).
create table auth.revoked_access_tokens (
  jti text primary key,
  expires_at timestamptz not null
);
create index revoked_access_tokens_expires_idx on auth.revoked_access_tokens (expires_at);
