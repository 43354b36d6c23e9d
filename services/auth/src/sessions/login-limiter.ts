/**
 * The auth service's rate limits (per minute), applied by the handlers themselves with the value
 * they are about to authenticate, never with a field a hook guesses from the body: an attacker
 * controls which fields a body carries, so a limiter reading `email ?? username` while the OAuth
 * password grant verified `username` could be steered to a fresh counter by a decoy `email`.
 *
 * - Login: RATE_LIMIT_LOGIN_PER_ACCOUNT per normalised identifier (the email a login, the
 *   `username` a password grant, the caller's own email a password change verifies; stored as
 *   its SHA-256 so no email sits in Redis) and RATE_LIMIT_LOGIN_PER_IP per client address. One
 *   counter pair for /auth/login, the /oauth/authorize sign-in form, grant_type=password and
 *   POST /auth/password's current password.
 * - Registration: RATE_LIMIT_REGISTER_PER_IP per client address.
 * - Password reset (request and confirm): RATE_LIMIT_PASSWORD_RESET_PER_IP per client address and
 *   RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT per account (the normalised email asked for, whether or
 *   not it exists, so a 429 tells nothing; on confirm, the token's user).
 * - Email verification (confirm and resend): RATE_LIMIT_VERIFY_EMAIL_PER_IP per client address
 *   and RATE_LIMIT_VERIFY_EMAIL_PER_ACCOUNT per user (resends: each one is a mail).
 *
 * A login resent with its Idempotency-Key (nginx's resend after a gateway died holding it) counts
 * once: the attempt's id (the key and the credentials under a server key, so a client reusing one
 * key for different guesses is counted for each) is set beside each counter for the window.
 *
 * Every attempt counts, before its hash runs (a count taken after a failed verify would let a
 * burst of parallel guesses through before the first one failed). Client addresses count by
 * `ipRateLimitKey` (IPv6 by its /64). Counts live in Redis when the bus has it (shared by every
 * instance), in this instance's memory otherwise or while Redis is unreachable (a Redis outage
 * must not lock everyone out). 429 with Retry-After.
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Bus } from '@keygate/bus';
import { ipRateLimitKey, rateLimitCounter } from '@keygate/rate-limit-store';
import type { AuthConfig } from '../config.js';
import { normalizeEmail } from '../accounts/emails.js';
import { AuthErrors } from '../errors.js';
import type { AuthMetrics } from '../metrics.js';

const WINDOW_MS = 60_000;

/** Who is attempting: the client address the limits count, and where a refusal is logged. */
export interface Attempt {
  ip: string;
  log: FastifyBaseLogger;
}

/**
 * What one login attempt is (login-key.ts's loginAttemptId: the Idempotency-Key and the
 * credentials, under a server key): a resend of it is counted once.
 */
export type AttemptId = string;

export interface LoginLimiter {
  /**
   * Counts one password attempt for `identifier` (exactly the email or username the caller then
   * verifies) from `attempt.ip`; throws 429 `rate_limited` once either limit is exhausted.
   */
  check(identifier: string, attempt: Attempt, once?: AttemptId): Promise<void>;
}

export interface RegisterLimiter {
  /** Counts one registration from `attempt.ip`; throws 429 `rate_limited` once the limit is exhausted. */
  check(attempt: Attempt): Promise<void>;
}

/** A per-address and a per-account count for one kind of request; each check counts one hit. */
export interface PairLimiter {
  checkIp(attempt: Attempt): Promise<void>;
  /** `account`: an email (normalised and hashed here) or a user id. */
  checkAccount(account: string, attempt: Attempt): Promise<void>;
}

export interface AuthLimiters {
  login: LoginLimiter;
  register: RegisterLimiter;
  passwordReset: PairLimiter;
  verifyEmail: PairLimiter;
}

/** The per-account key: the identifier as the users domain compares it, hashed. */
export function accountRateLimitKey(identifier: string): string {
  return `acct:${createHash('sha256').update(normalizeEmail(identifier)).digest('base64url')}`;
}

export function createAuthLimiters(config: AuthConfig, bus: Bus, metrics: AuthMetrics): AuthLimiters {
  const counter = rateLimitCounter(bus.counters, 'auth:rl:');
  /** Seconds until the window ends when this hit went over `max`, else undefined. */
  const over = async (key: string, max: number, once?: AttemptId): Promise<number | undefined> => {
    const count = await counter.hit(key, WINDOW_MS, max, once);
    return count.current > max ? Math.ceil(count.ttl / 1000) : undefined;
  };

  const pair = (name: string, perIp: number, perAccount: number, description: string): PairLimiter => {
    const refuse = (limit: string, wait: number, attempt: Attempt): never => {
      metrics.rateLimited.inc({ limit });
      attempt.log.warn({ limit }, `${name} rate limited`);
      throw AuthErrors.tooManyRequests(description, wait);
    };
    return {
      async checkIp(attempt) {
        const wait = await over(`${name}:${ipRateLimitKey(attempt.ip)}`, perIp);
        if (wait !== undefined) refuse(`${name}_ip`, wait, attempt);
      },
      async checkAccount(account, attempt) {
        const wait = await over(`${name}:${accountRateLimitKey(account)}`, perAccount);
        if (wait !== undefined) refuse(`${name}_account`, wait, attempt);
      },
    };
  };

  return {
    passwordReset: pair('password_reset', config.rateLimitPasswordResetPerIp, config.rateLimitPasswordResetPerAccount, 'Too many password reset requests; retry later.'),
    verifyEmail: pair('verify_email', config.rateLimitVerifyEmailPerIp, config.rateLimitVerifyEmailPerAccount, 'Too many email verification requests; retry later.'),
    login: {
      async check(identifier, attempt, once) {
        const [ipWait, accountWait] = await Promise.all([
          over(`login:${ipRateLimitKey(attempt.ip)}`, config.rateLimitLoginPerIp, once),
          over(`login:${accountRateLimitKey(identifier)}`, config.rateLimitLoginPerAccount, once),
        ]);
        if (ipWait === undefined && accountWait === undefined) return;
        const limit = accountWait !== undefined ? 'login_account' : 'login_ip';
        metrics.logins.inc({ outcome: 'rate_limited' });
        metrics.rateLimited.inc({ limit });
        attempt.log.warn({ limit }, 'login rate limited');
        throw AuthErrors.rateLimited(Math.max(ipWait ?? 0, accountWait ?? 0));
      },
    },
    register: {
      async check(attempt) {
        const wait = await over(`register:${ipRateLimitKey(attempt.ip)}`, config.rateLimitRegisterPerIp);
        if (wait === undefined) return;
        metrics.rateLimited.inc({ limit: 'register_ip' });
        attempt.log.warn({ limit: 'register_ip' }, 'registration rate limited');
        throw AuthErrors.registrationRateLimited(wait);
      },
    },
  };
}
