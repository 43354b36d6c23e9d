-- 0005: the revocation kinds `client` and `key` (docs/decisions.md, "Revocation kinds").

-- A deleted client's access tokens are refused by every gateway until `revoked_until`
-- (ACCESS_TOKEN_TTL + skew after the delete). Written in the delete's transaction, so the auth
-- service can re-announce it after a Redis outage; rows past `revoked_until` are history only.
create table auth.revoked_clients (
  client_id text primary key,
  revoked_at timestamptz not null default now(),
  revoked_until timestamptz not null
);
create index revoked_clients_until_idx on auth.revoked_clients (revoked_until);

-- A revoked (compromised) signing key: state `retired` (never signs, never published again) and
-- `revoked_at` set; gateways refuse its kid even from a stale JWKS, and the re-announcer finds it.
alter table auth.signing_keys add column revoked_at timestamptz;
create index signing_keys_revoked_at_idx on auth.signing_keys (revoked_at) where revoked_at is not null;
