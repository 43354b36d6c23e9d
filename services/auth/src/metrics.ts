/** The auth service's own Prometheus metrics, registered on the app's registry (never the global one). */
import { Gauge, type Counter, type Registry } from 'prom-client';
import { counter } from '@keygate/service-kit';
import type { PasswordHasher } from './accounts/passwords.js';

export interface AuthMetrics {
  logins: Counter<'outcome'>;
  refreshes: Counter<'outcome'>;
  revocationPublishFailures: Counter;
  oauthTokens: Counter<'grant' | 'outcome'>;
  rateLimited: Counter<'limit'>;
  passwordHashesRejected: Counter;
  mfa: Counter<'event'>;
  accountsDeleted: Counter<'by'>;
  /** Email verification and password reset (accounts/email-verification.ts, accounts/password-reset.ts). */
  accountEmails: Counter<'event'>;
}

/** Read at scrape time: a queue that stays above zero means logins arrive faster than the cores can hash. */
export function registerPasswordHashGauges(registry: Registry, passwords: Pick<PasswordHasher, 'load'>): void {
  new Gauge({
    name: 'auth_password_hashes_active',
    help: 'argon2id hashes running now (at most PASSWORD_HASH_CONCURRENCY).',
    registers: [registry],
    collect() {
      this.set(passwords.load.active);
    },
  });
  new Gauge({
    name: 'auth_password_hashes_queued',
    help: 'argon2id hashes (logins, registrations, password changes) waiting for a free slot.',
    registers: [registry],
    collect() {
      this.set(passwords.load.queued);
    },
  });
}

/**
 * Read at scrape time: 0 while this instance cannot reach Redis, so its rate limits count in its
 * own memory (alone, not shared with the other instances) and its revocations wait for the resync.
 */
export function registerRedisGauge(registry: Registry, connection: { isConnected(): boolean }): void {
  new Gauge({
    name: 'auth_redis_connected',
    help: '1 while the Redis connection (shared rate limits, revocation publishing) is ready, 0 otherwise.',
    registers: [registry],
    collect() {
      this.set(connection.isConnected() ? 1 : 0);
    },
  });
}

export function createAuthMetrics(registry: Registry): AuthMetrics {
  return {
    logins: counter(registry, 'auth_logins_total', 'Login attempts by outcome (success, invalid_credentials, rate_limited, mfa_required).', ['outcome']),
    refreshes: counter(
      registry,
      'auth_refreshes_total',
      'Refresh attempts by outcome (rotated, grace_retry, unknown_token, wrong_client, session_revoked, session_expired, user_disabled, reuse_detected).',
      ['outcome'],
    ),
    revocationPublishFailures: counter(registry, 'auth_revocation_publish_failures_total', 'Revocations written to the database but not published on the bus.'),
    oauthTokens: counter(registry, 'auth_oauth_token_requests_total', 'POST /oauth/token by grant type and outcome (issued, or the RFC 6749 error code).', ['grant', 'outcome']),
    rateLimited: counter(registry, 'auth_rate_limited_total', 'Requests refused with 429, by limit (login_ip, login_account, register_ip, password_reset_ip, password_reset_account, verify_email_ip, verify_email_account).', ['limit']),
    passwordHashesRejected: counter(registry, 'auth_password_hashes_rejected_total', 'Requests answered 503 because PASSWORD_HASH_QUEUE_MAX hashes were already waiting.'),
    mfa: counter(registry, 'auth_mfa_events_total', 'Second-factor events (enrolled, removed, challenged, verified, recovery_code_used, failed).', ['event']),
    accountsDeleted: counter(registry, 'auth_accounts_deleted_total', 'Accounts deleted, by who asked (user, authctl).', ['by']),
    accountEmails: counter(
      registry,
      'auth_account_emails_total',
      'Email verification and password reset by event (verification_sent, verification_confirmed, verification_invalid_token, reset_requested, reset_unknown_account, reset_completed, reset_invalid_token).',
      ['event'],
    ),
  };
}
