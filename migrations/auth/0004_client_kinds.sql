-- 0004: first-party and third-party clients, resource servers that may introspect, and the scope
-- of every first-party session (contract, "Authorization: clients, scopes, first-party").

alter table auth.oauth_clients
  add column first_party boolean not null default false,
  -- A resource server: may introspect any token (RFC 7662); other clients learn only of their own.
  add column introspect boolean not null default false;

-- The built-in web client behind /auth/login and the refresh cookie, registered with the scopes a
-- first-party sign-in is granted (the password grant drops `admin` for users who are not admins).
update auth.oauth_clients
set first_party = true,
    scopes = array['account', 'orders:read', 'orders:write', 'notifications:read', 'notifications:write', 'admin']
where id = 'keygate-web';

-- Every other client stays third-party, so it loses what only first-party clients may hold: the
-- password grant (registered before there was a first-party flag) and the account/admin scopes.
update auth.oauth_clients
set grant_types = array_remove(grant_types, 'password'),
    scopes = array_remove(array_remove(scopes, 'account'), 'admin')
where not first_party;

-- The password grant and the account/admin scopes only for first-party clients (RFC 9700 §2.4).
alter table auth.oauth_clients
  add constraint oauth_clients_password_first_party check (first_party or not ('password' = any (grant_types))),
  add constraint oauth_clients_scopes_first_party check (first_party or not (scopes && array['account', 'admin']));

-- Sessions a third-party client holds keep only what it may now be granted: a refresh never
-- widens, so a stored `admin` or `account` would otherwise live on in every refreshed token.
update auth.sessions s
set scope = nullif(array_to_string(array_remove(array_remove(string_to_array(s.scope, ' '), 'account'), 'admin'), ' '), '')
from auth.oauth_clients c
where c.id = s.client_id and not c.first_party and s.scope is not null and s.revoked_at is null;

-- Live sessions of keygate-web (the cookie flow stored no scope until now) get exactly what a
-- login grants today: the account and resource scopes, plus `admin` for admins. A role change
-- revokes a user's sessions, so the role read here is the one the session was started with.
update auth.sessions s
set scope = 'account orders:read orders:write notifications:read notifications:write' || case when u.role = 'admin' then ' admin' else '' end
from auth.users u
where u.id = s.user_id and s.client_id = 'keygate-web' and s.scope is null and s.revoked_at is null;
