/**
 * Cookie-authenticated calls (/auth/refresh, /auth/logout) refuse a browser request from a foreign
 * origin: the Origin header must be the gateway's own (ISSUER's; in development also the same port
 * at the other loopback name: config.trustedOrigins) or in ALLOWED_ORIGINS, and a browser's
 * `Sec-Fetch-Site: cross-site` is refused too. SameSite=Strict is the first line; this is
 * the second. Requests without Origin (curl, server-side clients) pass: they cannot ride a cookie
 * from a victim's browser.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthConfig } from '../config.js';
import { AuthErrors } from '../errors.js';

export function assertTrustedOrigin(request: FastifyRequest, config: Pick<AuthConfig, 'trustedOrigins'>): void {
  const origin = request.headers.origin;
  if (origin !== undefined && !config.trustedOrigins.includes(origin)) throw AuthErrors.forbiddenOrigin();
  const site = request.headers['sec-fetch-site'];
  if (origin === undefined && site === 'cross-site') throw AuthErrors.forbiddenOrigin();
}

export function requireTrustedOrigin(config: Pick<AuthConfig, 'trustedOrigins'>) {
  return async function trustedOriginHook(request: FastifyRequest): Promise<void> {
    assertTrustedOrigin(request, config);
  };
}
