/**
 * The auth service's settings: the shared core plus every auth setting of the contract. Invalid
 * values stop start-up with a message naming the setting; secrets are resolved for embedded mode.
 */
import { availableParallelism } from 'node:os';
import {
  ConfigError,
  base64Key,
  bool,
  int,
  list,
  loadServiceSettings,
  oneOf,
  optionalStr,
  serviceSecret,
  serviceSettings,
  trustProxySetting,
  url,
  type SettingsOf,
} from '@keygate/config';
import { SIGNING_ALGS } from '@keygate/tokens';

const DAY = 86_400;

function checkOrigin(item: string): void {
  let parsed: URL;
  try {
    parsed = new URL(item);
  } catch {
    throw new Error(`must be a comma-separated list of origins like https://app.example.com, got "${item}"`);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.origin !== item.replace(/\/$/, '')) {
    throw new Error(`must list origins only (scheme://host[:port], no path), got "${item}"`);
  }
}

/**
 * One hash per core, but one libuv thread always left free: RS256 signatures (WebCrypto), file
 * and DNS work share that pool (UV_THREADPOOL_SIZE, 4 by default, read by libuv from the
 * process environment) and must not queue behind hashes.
 */
export function defaultHashConcurrency(): number {
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism(), poolSize - 1));
}

export const authSettings = {
  ...serviceSettings('auth'),
  accessTokenTtl: int('ACCESS_TOKEN_TTL', { default: 900, min: 30, max: DAY, unit: 'seconds' }),
  refreshTokenTtl: int('REFRESH_TOKEN_TTL', { default: 7 * DAY, min: 60, max: 365 * DAY, unit: 'seconds' }),
  sessionMaxAge: int('SESSION_MAX_AGE', { default: 30 * DAY, min: 60, max: 365 * DAY, unit: 'seconds' }),
  refreshGrace: int('REFRESH_GRACE', { default: 10, min: 0, max: 30, unit: 'seconds' }),
  keyEncryptionKey: base64Key('KEY_ENCRYPTION_KEY', { bytes: 32 }),
  allowedOrigins: list('ALLOWED_ORIGINS', { check: checkOrigin }),
  adminEmail: optionalStr('ADMIN_EMAIL'),
  adminPassword: optionalStr('ADMIN_PASSWORD', { secret: true }),
  rateLimitLoginPerIp: int('RATE_LIMIT_LOGIN_PER_IP', { default: 20, min: 1, max: 100_000, unit: 'requests per minute' }),
  rateLimitLoginPerAccount: int('RATE_LIMIT_LOGIN_PER_ACCOUNT', { default: 10, min: 1, max: 100_000, unit: 'requests per minute' }),
  rateLimitRegisterPerIp: int('RATE_LIMIT_REGISTER_PER_IP', { default: 10, min: 1, max: 100_000, unit: 'requests per minute' }),
  /** argon2id hashes run at once per instance; more logins wait their turn (domain/passwords.ts). */
  passwordHashConcurrency: int('PASSWORD_HASH_CONCURRENCY', { default: defaultHashConcurrency(), min: 1, max: 256, unit: 'hashes' }),
  /**
   * Hashes that may wait for a slot; beyond it a request gets 503 + Retry-After at once. 64 waits
   * at most ~64 / PASSWORD_HASH_CONCURRENCY hash times (~0.4 s at the default 2 on two cores, ~12 ms
   * per hash): far under any client timeout, and far above what a normal login burst queues.
   * 0: never wait (refuse whenever every slot is busy).
   */
  passwordHashQueueMax: int('PASSWORD_HASH_QUEUE_MAX', { default: 64, min: 0, max: 100_000, unit: 'hashes' }),
  signingAlg: oneOf('SIGNING_ALG', SIGNING_ALGS, { default: 'RS256' }),
  trustProxy: trustProxySetting(),
  passwordGrantEnabled: bool('PASSWORD_GRANT_ENABLED', { default: true }),
  /** Cache-Control max-age of the JWKS; a new key is published at least this long before it signs. */
  jwksMaxAge: int('JWKS_MAX_AGE', { default: 300, min: 0, max: DAY, unit: 'seconds' }),
  /** How often each instance re-reads the signing keys (so a rotation elsewhere is picked up). */
  keyRefreshSeconds: int('KEY_REFRESH_SECONDS', { default: 5, min: 1, max: 300, unit: 'seconds' }),
  // Mail (mail/): SMTP_URL is required in production; without it, in development, mail stays in
  // the outbox and the gateway's /dev/mailbox shows it.
  smtpUrl: url('SMTP_URL', { protocols: ['smtp:', 'smtps:'], secret: true }),
  /** The From header; default `keygate <no-reply@ISSUER's host>`. */
  mailFrom: optionalStr('MAIL_FROM'),
  /** A front end elsewhere: mailed links point here instead of ISSUER. */
  appUrl: url('APP_URL', { protocols: ['http:', 'https:'] }),
  /** How often each instance looks for due mail (new mail from this instance is sent at once). */
  mailPollMs: int('MAIL_POLL_MS', { default: 1_000, min: 10, max: 60_000, unit: 'milliseconds' }),
  /** Retry backoff after a failed send: doubles from MAIL_RETRY_MIN_MS up to MAIL_RETRY_MAX_MS. */
  mailRetryMinMs: int('MAIL_RETRY_MIN_MS', { default: 1_000, min: 10, max: 3_600_000, unit: 'milliseconds' }),
  mailRetryMaxMs: int('MAIL_RETRY_MAX_MS', { default: 300_000, min: 10, max: 86_400_000, unit: 'milliseconds' }),
  requireVerifiedEmail: bool('REQUIRE_VERIFIED_EMAIL', { default: false }),
  emailVerificationTtl: int('EMAIL_VERIFICATION_TTL', { default: DAY, min: 1, max: 30 * DAY, unit: 'seconds' }),
  passwordResetTtl: int('PASSWORD_RESET_TTL', { default: 1_800, min: 1, max: DAY, unit: 'seconds' }),
  rateLimitPasswordResetPerIp: int('RATE_LIMIT_PASSWORD_RESET_PER_IP', { default: 10, min: 1, max: 100_000, unit: 'requests per minute' }),
  rateLimitPasswordResetPerAccount: int('RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT', { default: 3, min: 1, max: 100_000, unit: 'requests per minute' }),
  rateLimitVerifyEmailPerIp: int('RATE_LIMIT_VERIFY_EMAIL_PER_IP', { default: 20, min: 1, max: 100_000, unit: 'requests per minute' }),
  rateLimitVerifyEmailPerAccount: int('RATE_LIMIT_VERIFY_EMAIL_PER_ACCOUNT', { default: 3, min: 1, max: 100_000, unit: 'requests per minute' }),
} as const;

type Settings = SettingsOf<typeof authSettings>;

export type AuthConfig = Omit<Settings, 'gatewaySecret' | 'keyEncryptionKey'> & {
  gatewaySecret: Buffer;
  keyEncryptionKey: Buffer;
  /** The gateway's own origin (from ISSUER) plus ALLOWED_ORIGINS: who may send cookie-authenticated calls. */
  trustedOrigins: readonly string[];
};

export function loadConfig(env: Readonly<Record<string, string | undefined>>, warn: (message: string) => void = () => {}): AuthConfig {
  const settings = loadServiceSettings(authSettings, env, { requiredSecrets: ['keyEncryptionKey'] });
  if (settings.nodeEnv === 'production' && settings.smtpUrl === undefined) {
    throw new ConfigError('SMTP_URL', 'is required when NODE_ENV=production (smtp://… or smtps://…; the development mailbox is for development only)');
  }
  if (settings.mailRetryMaxMs < settings.mailRetryMinMs) {
    throw new ConfigError('MAIL_RETRY_MAX_MS', `must be at least MAIL_RETRY_MIN_MS (${settings.mailRetryMinMs}), got ${settings.mailRetryMaxMs}`);
  }
  if (settings.sessionMaxAge < settings.refreshTokenTtl) {
    throw new ConfigError('SESSION_MAX_AGE', `must be at least REFRESH_TOKEN_TTL (${settings.refreshTokenTtl} s), got ${settings.sessionMaxAge}`);
  }
  if ((settings.adminEmail === undefined) !== (settings.adminPassword === undefined)) {
    throw new ConfigError(settings.adminEmail === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD', 'must be set together with ' + (settings.adminEmail === undefined ? 'ADMIN_PASSWORD' : 'ADMIN_EMAIL'));
  }
  if (settings.adminPassword !== undefined && (settings.adminPassword.length < 8 || settings.adminPassword.length > 256)) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be 8 to 256 characters');
  }
  if (settings.adminEmail !== undefined && !/^[^\s@]+@[^\s@]+$/.test(settings.adminEmail)) {
    throw new ConfigError('ADMIN_EMAIL', 'must be an email address');
  }
  const gatewaySecret = serviceSecret(settings, 'GATEWAY_SECRET', settings.gatewaySecret, warn);
  const keyEncryptionKey = serviceSecret(settings, 'KEY_ENCRYPTION_KEY', settings.keyEncryptionKey, warn);
  const trustedOrigins = Object.freeze([...new Set([new URL(settings.issuer).origin, ...settings.allowedOrigins.map((o) => new URL(o).origin)])]);
  return Object.freeze({ ...settings, gatewaySecret, keyEncryptionKey, trustedOrigins });
}
