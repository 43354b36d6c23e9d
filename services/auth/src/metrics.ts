/** The auth service's own Prometheus counters, registered on the app's registry (never the global one). */
import { Counter, type Registry } from 'prom-client';

export interface AuthMetrics {
  logins: Counter<'outcome'>;
  refreshes: Counter<'outcome'>;
  revocationPublishFailures: Counter;
  oauthTokens: Counter<'grant' | 'outcome'>;
}

export function createAuthMetrics(registry: Registry): AuthMetrics {
  return {
    logins: new Counter({ name: 'auth_logins_total', help: 'Login attempts by outcome (success, invalid_credentials, rate_limited).', labelNames: ['outcome'] as const, registers: [registry] }),
    refreshes: new Counter({
      name: 'auth_refreshes_total',
      help: 'Refresh attempts by outcome (rotated, grace_retry, unknown_token, session_revoked, session_expired, user_disabled, reuse_detected).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    revocationPublishFailures: new Counter({ name: 'auth_revocation_publish_failures_total', help: 'Revocations written to the database but not published on the bus.', registers: [registry] }),
    oauthTokens: new Counter({
      name: 'auth_oauth_token_requests_total',
      help: 'POST /oauth/token by grant type and outcome (issued, or the RFC 6749 error code).',
      labelNames: ['grant', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
