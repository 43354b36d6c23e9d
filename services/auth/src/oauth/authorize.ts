/**
 * GET/POST /oauth/authorize (RFC 6749 §4.1.1, PKCE S256 only per RFC 7636, RFC 9207 `iss`).
 *
 * GET checks the client and the exact redirect URI first: if either is wrong the user sees an
 * error page and is never redirected (RFC 6749 §4.1.2.1); every later problem is redirected back
 * with `error` and `state`. Otherwise it renders the login page. The page carries the
 * authorization request in a hidden field, HMAC-signed and bound to a random cookie set with the
 * page: a cross-site post (login CSRF) has neither the cookie nor a field signed for it, and the
 * fields cannot be altered. POST checks both, then the password (same equal-time check and rate
 * limits as /auth/login), issues a 60 s single-use code and redirects with `code`, `state`, `iss`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '@keygate/errors';
import type { AuthContext } from '../context.js';
import { findClient } from './clients.js';
import { authenticatePassword } from '../accounts/service.js';
import { mfaEnabled } from '../mfa/service.js';
import { requestMeta } from '../http/authenticate.js';
import { requireTrustedOrigin } from '../sessions/origin-check.js';
import type { OAuthClientRow } from '../db/schema.js';
import { ErrorBody } from '../schemas/auth.js';
import { AuthorizeForm, AuthorizeQuery, Empty, Html } from '../schemas/oauth.js';
import type { RouteOptions } from '../http/route-options.js';
import { CODE_CHALLENGE_PATTERN, issueAuthorizationCode } from './authorization-codes.js';
import { parseScope, registeredScope } from './scopes.js';
import { STYLE_HASH, errorPage, loginPage } from './login-page.js';
import { signInForm, type PendingAuthorization } from './sign-in-form.js';

/** An HTML page (sent as text/html, never serialised) or, for a malformed request, the JSON error body. */
const HtmlOrError = { anyOf: [ErrorBody, Html] } as const;

const FORM_COOKIE = 'oauth_login';
const FORM_COOKIE_PATH = '/oauth/authorize';
/** How long a rendered login form stays usable. */
const FORM_TTL_SECONDS = 600;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function issuerOf(ctx: AuthContext): string {
  return ctx.config.issuer.replace(/\/$/, '');
}

function htmlHeaders(reply: FastifyReply, redirectUri?: string): FastifyReply {
  // A redirect after a form post is subject to form-action in some browsers: allow the client's origin.
  const formAction = redirectUri === undefined ? "'self'" : `'self' ${new URL(redirectUri).origin}`;
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('content-security-policy', `default-src 'none'; style-src ${STYLE_HASH}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
}

function redirectWith(reply: FastifyReply, ctx: AuthContext, redirectUri: string, params: Record<string, string | undefined>): FastifyReply {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries({ ...params, iss: issuerOf(ctx) })) {
    if (value !== undefined) target.searchParams.append(name, value);
  }
  return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(target.href, 303);
}

/** The client and redirect URI, if both are right; else the error page's message. */
async function trustedTarget(ctx: AuthContext, clientId: string | undefined, redirectUri: string | undefined): Promise<{ client: OAuthClientRow; redirectUri: string } | string> {
  const client = clientId === undefined ? undefined : await findClient(ctx.db, clientId);
  if (!client) return 'The application is not registered here (unknown client_id).';
  if (redirectUri === undefined || !client.redirect_uris.includes(redirectUri)) return 'The redirect_uri is not registered for this application.';
  return { client, redirectUri };
}

export const authorizeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx, loginLimiter }) => {
  const trustedOrigin = requireTrustedOrigin(ctx.config);
  // The form key is derived once here, not per request.
  const form = signInForm(ctx.config.keyEncryptionKey, FORM_TTL_SECONDS);

  app.get('/oauth/authorize', {
    schema: { querystring: AuthorizeQuery, response: { 200: Html, 303: Empty, 400: HtmlOrError } },
  }, async (request, reply) => {
    const query = request.query;
    const target = await trustedTarget(ctx, query.client_id, query.redirect_uri);
    if (typeof target === 'string') return htmlHeaders(reply).code(400).send(errorPage(target));
    const { client, redirectUri } = target;
    const fail = (error: string, description: string) => redirectWith(reply, ctx, redirectUri, { error, error_description: description, state: query.state });
    if (!client.grant_types.includes('authorization_code')) return fail('unauthorized_client', 'This client may not use the authorization code flow.');
    if (query.response_type === undefined) return fail('invalid_request', 'response_type is required.');
    if (query.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
    if (query.code_challenge_method !== 'S256') return fail('invalid_request', 'PKCE with code_challenge_method=S256 is required.');
    if (query.code_challenge === undefined || !CODE_CHALLENGE_PATTERN.test(query.code_challenge)) return fail('invalid_request', 'code_challenge must be BASE64URL(SHA-256(code_verifier)).');
    // Checked against the registration here; `admin` is dropped for non-admins at the exchange.
    let scope: string | null;
    try {
      scope = registeredScope(parseScope(query.scope), client.scopes).join(' ') || null;
    } catch {
      return fail('invalid_scope', 'The requested scope is not allowed for this client.');
    }
    const existing = request.cookies[FORM_COOKIE];
    const nonce = existing !== undefined && NONCE_PATTERN.test(existing) ? existing : randomBytes(32).toString('base64url');
    const pending: PendingAuthorization = { clientId: client.id, redirectUri, state: query.state, codeChallenge: query.code_challenge, scope };
    void reply.setCookie(FORM_COOKIE, nonce, { httpOnly: true, secure: true, sameSite: 'strict', path: FORM_COOKIE_PATH, maxAge: FORM_TTL_SECONDS });
    return htmlHeaders(reply, redirectUri).send(loginPage({ clientName: client.name, request: await form.sign(nonce, pending), scope }));
  });

  app.post('/oauth/authorize', {
    schema: { body: AuthorizeForm, response: { 303: Empty, 400: HtmlOrError, 403: ErrorBody, 415: ErrorBody, 429: Html } },
    onRequest: trustedOrigin,
  }, async (request: FastifyRequest<{ Body: { email: string; password: string; request: string } }>, reply) => {
    const { email, password } = request.body;
    const nonce = request.cookies[FORM_COOKIE];
    const pending = nonce !== undefined && NONCE_PATTERN.test(nonce) ? await form.open(nonce, request.body.request) : undefined;
    if (!pending) return htmlHeaders(reply).code(400).send(errorPage('This sign-in form has expired or did not come from this site.'));
    const target = await trustedTarget(ctx, pending.clientId, pending.redirectUri);
    if (typeof target === 'string') return htmlHeaders(reply).code(400).send(errorPage(target));
    const again = (status: number, error: string) =>
      htmlHeaders(reply, pending.redirectUri).code(status).send(loginPage({ clientName: target.client.name, request: request.body.request, email, error, scope: pending.scope }));
    try {
      await loginLimiter.check(email, request);
    } catch (error) {
      if (error instanceof AppError && error.statusCode === 429) {
        void reply.header('retry-after', error.headers['retry-after'] ?? '60');
        return again(429, 'Too many sign-in attempts. Wait a minute and try again.');
      }
      throw error;
    }
    const user = await authenticatePassword(ctx, email, password, requestMeta(request));
    if (!user) {
      ctx.metrics.logins.inc({ outcome: 'invalid_credentials' });
      return again(400, 'The email or password is wrong.');
    }
    // A password alone must not get past a second factor. Until this form asks for the code, an
    // account with one cannot sign in here (the password was right: the answer tells nobody else).
    if (await mfaEnabled(ctx.db, user.id)) {
      ctx.metrics.logins.inc({ outcome: 'mfa_required' });
      return again(400, 'This account uses two-factor authentication, which this sign-in form does not support yet.');
    }
    ctx.metrics.logins.inc({ outcome: 'success' });
    const code = await issueAuthorizationCode(ctx, { clientId: target.client.id, userId: user.id, redirectUri: pending.redirectUri, codeChallenge: pending.codeChallenge, scope: pending.scope });
    request.log.info({ userId: user.id, clientId: target.client.id }, 'authorization code issued');
    void reply.clearCookie(FORM_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: FORM_COOKIE_PATH });
    return redirectWith(reply, ctx, pending.redirectUri, { code, state: pending.state });
  });
};
