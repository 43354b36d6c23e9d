/** Kysely table types for the `auth` schema (migrations/auth). Rows as the database returns them. */
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface UsersTable {
  id: Generated<string>;
  email: string;
  password_hash: string;
  role: 'user' | 'admin';
  disabled: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
  password_changed_at: NullableTimestamp;
  /** When the owner proved the address (migrations 0006/0007); null until then. email_verified of ID tokens and /auth/me. */
  email_verified_at: NullableTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  client_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp;
  idle_expires_at: Timestamp;
  absolute_expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
  /**
   * The scope granted at login, carried unchanged into every refreshed token; null grants nothing
   * (migration 0004 filled it in for the cookie flow's sessions started before it was stored).
   */
  scope: ColumnType<string | null, string | null | undefined, string | null>;
  /** How the user authenticated (`pwd`, `otp`), put in every access token of the session (migration 0008). */
  amr: ColumnType<string[], string[] | undefined, string[]>;
  /** Remember me: the refresh cookie carries Max-Age (else it is a browser-session cookie). */
  remember: Generated<boolean>;
  /** When the user's password was checked for this session: OIDC `auth_time` (migration 0006). */
  auth_time: Timestamp;
  /** SHA-256 of the login's Idempotency-Key and request (sessions/login-key.ts), null without a key (migration 0011). */
  login_key: ColumnType<Buffer | null, Buffer | null | undefined, Buffer | null>;
}

export interface RefreshTokensTable {
  token_hash: Buffer;
  session_id: string;
  parent_hash: Buffer | null;
  created_at: Timestamp;
  spent_at: NullableTimestamp;
  successor_hash: Buffer | null;
  successor_sealed: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  state: 'next' | 'current' | 'previous' | 'retired';
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  private_key_sealed: string;
  created_at: Timestamp;
  activates_at: Timestamp;
  deactivated_at: NullableTimestamp;
  retires_at: NullableTimestamp;
  /** Set by `authctl keys revoke` (migration 0005): the key is retired and refused everywhere. */
  revoked_at: NullableTimestamp;
}

export interface AuditEventsTable {
  id: Generated<string>;
  at: Timestamp;
  event: string;
  user_id: string | null;
  session_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
}

export interface OAuthClientsTable {
  id: string;
  name: string;
  public: boolean;
  secret_hash: Buffer | null;
  grant_types: string[];
  redirect_uris: ColumnType<string[], string[] | undefined, string[]>;
  scopes: ColumnType<string[], string[] | undefined, string[]>;
  created_at: Timestamp;
  secret_rotated_at: NullableTimestamp;
  /** May use the password grant and hold the `account` and `admin` scopes (migration 0004). */
  first_party: Generated<boolean>;
  /** A resource server: may introspect any client's tokens (RFC 7662). */
  introspect: Generated<boolean>;
  /** Where GET /oauth/logout may send the browser back to (exact match; migration 0006). */
  post_logout_redirect_uris: ColumnType<string[], string[] | undefined, string[]>;
}

export interface AuthorizationCodesTable {
  code_hash: Buffer;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  session_id: string | null;
  /** The `amr` of the sign-in behind the code (migration 0008). */
  amr: ColumnType<string[], string[] | undefined, string[]>;
  /** The OIDC nonce of the authorization request, echoed in the ID token (migration 0006). */
  nonce: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the sign-in form checked the password (migration 0006). */
  auth_time: NullableTimestamp;
}

export interface RevokedAccessTokensTable {
  jti: string;
  expires_at: Timestamp;
}

/** Deleted clients whose access tokens gateways refuse until revoked_until (migration 0005). */
export interface RevokedClientsTable {
  client_id: string;
  revoked_at: Timestamp;
  revoked_until: Timestamp;
}

/** A user's TOTP factor (migration 0008): sealed secret, confirmed or pending, last accepted step. */
export interface MfaTotpTable {
  user_id: string;
  secret_sealed: string;
  created_at: Timestamp;
  confirmed_at: NullableTimestamp;
  last_used_step: ColumnType<string | null, number | null | undefined, number | null>;
}

export interface MfaRecoveryCodesTable {
  user_id: string;
  code_hash: Buffer;
  used_at: NullableTimestamp;
}

/** The first step of a two-step login, by SHA-256 only. */
export interface MfaLoginTokensTable {
  token_hash: Buffer;
  user_id: string;
  remember: boolean;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

/** Sessions of deleted accounts, still refused by the gateways for ACCESS_TOKEN_TTL + skew. */
export interface DeletedAccountSessionsTable {
  session_id: string;
  revoked_at: Timestamp;
}

/** A user's approval of a third-party client's scopes (migration 0006). */
export interface ConsentsTable {
  user_id: string;
  client_id: string;
  scopes: string[];
  granted_at: Timestamp;
  updated_at: Timestamp;
}

/** Mail waiting for (or handed to) the SMTP server (migration 0007; mail/). */
export interface MailOutboxTable {
  id: Generated<string>;
  kind: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: Timestamp;
  next_attempt_at: Timestamp;
  attempts: Generated<number>;
  claim_id: string | null;
  claimed_until: NullableTimestamp;
  sent_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  last_error: string | null;
}

/** Single-use mailed tokens, by SHA-256 (migration 0007). */
export interface AccountTokensTable {
  token_hash: Buffer;
  user_id: string;
  purpose: 'verify_email' | 'password_reset';
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface AuthDatabase {
  'auth.users': UsersTable;
  'auth.sessions': SessionsTable;
  'auth.refresh_tokens': RefreshTokensTable;
  'auth.signing_keys': SigningKeysTable;
  'auth.audit_events': AuditEventsTable;
  'auth.oauth_clients': OAuthClientsTable;
  'auth.authorization_codes': AuthorizationCodesTable;
  'auth.revoked_access_tokens': RevokedAccessTokensTable;
  'auth.revoked_clients': RevokedClientsTable;
  'auth.mfa_totp': MfaTotpTable;
  'auth.mfa_recovery_codes': MfaRecoveryCodesTable;
  'auth.mfa_login_tokens': MfaLoginTokensTable;
  'auth.deleted_account_sessions': DeletedAccountSessionsTable;
  'auth.consents': ConsentsTable;
  'auth.mail_outbox': MailOutboxTable;
  'auth.account_tokens': AccountTokensTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type OAuthClientRow = Selectable<OAuthClientsTable>;
export type MailOutboxRow = Selectable<MailOutboxTable>;
export type AccountTokenRow = Selectable<AccountTokensTable>;
export type AuthorizationCodeRow = Selectable<AuthorizationCodesTable>;
export type MfaTotpRow = Selectable<MfaTotpTable>;
export type ConsentRow = Selectable<ConsentsTable>;

/** A database handle or an open transaction: repositories accept either. */
export type Db = Kysely<AuthDatabase> | Transaction<AuthDatabase>;
