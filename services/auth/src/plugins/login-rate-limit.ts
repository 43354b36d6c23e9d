/**
 * Login rate limits (per minute): RATE_LIMIT_LOGIN_PER_IP per client address and
 * RATE_LIMIT_LOGIN_PER_ACCOUNT per normalised email, counted in Redis through @fastify/rate-limit's
 * store when the bus has Redis (so every instance shares the counts), in memory otherwise. Both
 * limits apply; the account key is a hash so no email sits in Redis. 429 with Retry-After.
 * While Redis is unreachable the counts are kept in this instance's memory: logins keep working
 * (a Redis outage must not lock everyone out) and stay rate limited.
 */
import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Bus } from '@keygate/bus';
import { failoverRateLimitStore } from '@keygate/rate-limit-store';
import type { AuthConfig } from '../config.js';
import { normalizeEmail } from '../domain/emails.js';
import { AuthErrors } from '../errors.js';
import type { AuthMetrics } from '../metrics.js';

const WINDOW_MS = 60_000;

export type LoginLimiter = (request: FastifyRequest) => Promise<void>;

export async function createLoginLimiter(app: FastifyInstance, config: AuthConfig, bus: Bus, metrics: AuthMetrics): Promise<LoginLimiter> {
  await app.register(rateLimit, {
    global: false,
    ...(bus.redis ? { store: failoverRateLimitStore(bus.redis, `${config.redisPrefix}auth:rl:`) } : {}),
  });
  const perIp = app.createRateLimit({ max: config.rateLimitLoginPerIp, timeWindow: WINDOW_MS, keyGenerator: (request) => `ip:${request.ip}` });
  const perAccount = app.createRateLimit({
    max: config.rateLimitLoginPerAccount,
    timeWindow: WINDOW_MS,
    keyGenerator: (request) => {
      // `email` (JSON /auth/login) or `username` (an OAuth password grant, RFC 6749 §4.3).
      const body = request.body as { email?: unknown; username?: unknown } | undefined;
      const account = body?.email ?? body?.username;
      const normalized = typeof account === 'string' ? normalizeEmail(account) : '';
      return `acct:${createHash('sha256').update(normalized).digest('base64url')}`;
    },
  });
  return async function loginLimiter(request) {
    for (const limiter of [perIp, perAccount]) {
      const result = await limiter(request);
      if (!result.isAllowed && result.isExceeded) {
        metrics.logins.inc({ outcome: 'rate_limited' });
        request.log.warn({ limit: result.max }, 'login rate limited');
        throw AuthErrors.rateLimited(result.ttlInSeconds);
      }
    }
  };
}
