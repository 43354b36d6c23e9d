/**
 * Cookie-authenticated calls (/auth/refresh, /auth/logout) refuse a browser request from a foreign
 * origin: the Origin header must be the gateway's own (ISSUER) or in ALLOWED_ORIGINS, and a
 * browser's `Sec-Fetch-Site: cross-site` is refused too. SameSite=Strict is the first line; this is
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

/**
 * The HTML forms of /oauth/authorize (sign-in, consent), which a browser posts from our own page.
 * Chromium sends `Origin: null` for such a post when the page's referrer policy is no-referrer;
 * the pages now send `same-origin` (the real Origin goes out), and `null` is still accepted, but
 * only beside `Sec-Fetch-Site: same-origin`, which a browser sets itself and a page cannot forge.
 * Any Sec-Fetch-Site but same-origin (cross-site, same-site: another port of the same host, none)
 * is refused, so is a foreign Origin and `null` without that proof. A request with neither header
 * (a non-browser client) passes: it carries no victim's cookie, and the form's signed field and
 * cookie binding still apply.
 */
export function assertFormPostOrigin(request: FastifyRequest, config: Pick<AuthConfig, 'trustedOrigins'>): void {
  const origin = request.headers.origin;
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw AuthErrors.forbiddenOrigin();
  if (origin === 'null') {
    if (site !== 'same-origin') throw AuthErrors.forbiddenOrigin();
    return;
  }
  if (origin !== undefined && !config.trustedOrigins.includes(origin)) throw AuthErrors.forbiddenOrigin();
}

export function requireFormPostOrigin(config: Pick<AuthConfig, 'trustedOrigins'>) {
  return async function formPostOriginHook(request: FastifyRequest): Promise<void> {
    assertFormPostOrigin(request, config);
  };
}
