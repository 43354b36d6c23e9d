/**
 * GET/POST /oauth/authorize (RFC 6749 §4.1.1, PKCE S256 only per RFC 7636, RFC 9207 `iss`, OpenID
 * Connect Core 1.0 §3.1.2) and POST /oauth/authorize/consent.
 *
 * GET checks the client and the redirect URI first (exact match, a loopback IP on any port, or the
 * only registered one when omitted): if either is wrong the user sees an error page and is never
 * redirected (RFC 6749 §4.1.2.1); every later problem is redirected back with `error` and `state`.
 * Otherwise it renders the sign-in page. The page carries the authorization request in a hidden
 * field, signed and bound to a random cookie set with the page: a cross-site post (login CSRF) has
 * neither the cookie nor a field signed for it, and the fields cannot be altered. POST checks both,
 * then the password (same equal-time check and rate limits as /auth/login). A first-party client,
 * or a third-party one the user already approved for these scopes, gets its 60 s single-use code
 * at once; any other third-party client first gets the consent page (a second signed form, bound
 * to the same cookie, carrying the user and the whole pending request).
 *
 * An account with a second factor gets a code page after the right password (POST
 * /oauth/authorize/mfa: the signed request again, the two-step login's mfa_token, the code); the
 * code attempt counts against the login limits like the password, and the session the code
 * starts carries `amr` ["pwd", "otp"].
 *
 * Every sign-in here asks for the password: there is no sign-in cookie at this endpoint. So
 * `prompt=login` and `max_age` are always met, the session's `auth_time` is the moment of that
 * password check, and `prompt=none` (which forbids showing a page) is always `login_required`.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '@keygate/errors';
import { SCOPE_DESCRIPTIONS, scopeSet } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import { findClient, resolveRedirectUri } from './clients.js';
import { authenticatePassword, findUser } from '../accounts/service.js';
import { consentCovers, grantConsent } from '../consents/service.js';
import { completeMfaLogin, mfaEnabled, mfaLoginUser, startMfaLogin } from '../mfa/service.js';
import { PASSWORD_AMR, PASSWORD_OTP_AMR } from '../sessions/service.js';
import { requestMeta } from '../http/authenticate.js';
import { requireFormPostOrigin } from '../sessions/origin-check.js';
import type { OAuthClientRow, UserRow } from '../db/schema.js';
import { ErrorBody } from '../schemas/auth.js';
import { AuthorizeCodeForm, AuthorizeForm, AuthorizeQuery, ConsentForm, Empty, Html } from '../schemas/oauth.js';
import type { RouteOptions } from '../http/route-options.js';
import { assertMayLogIn } from '../accounts/email-verification.js';
import { CODE_CHALLENGE_PATTERN, issueAuthorizationCode } from './authorization-codes.js';
import { issuerId } from './issuer.js';
import { parseScope, registeredScope } from './scopes.js';
import { STYLE_HASH, codePage, consentPage, errorPage, loginPage } from './login-page.js';
import { signInForm, type PendingAuthorization } from './sign-in-form.js';

/** An HTML page (sent as text/html, never serialised) or, for a malformed request, the JSON error body. */
export const HtmlOrError = { anyOf: [ErrorBody, Html] } as const;

const FORM_COOKIE = 'oauth_login';
/** Covers /oauth/authorize/consent too (a cookie path matches the paths below it). */
const FORM_COOKIE_PATH = '/oauth/authorize';
/** How long a rendered sign-in or consent form stays usable. */
const FORM_TTL_SECONDS = 600;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** OIDC Core §3.1.2.1 prompt values; select_account means nothing with one account per sign-in. */
const PROMPT_VALUES = new Set(['none', 'login', 'consent', 'select_account']);

/** The security headers of every page here. */
export function htmlHeaders(reply: FastifyReply, redirectUri?: string): FastifyReply {
  // A redirect after a form post is subject to form-action in some browsers: allow the client's origin.
  const formAction = redirectUri === undefined ? "'self'" : `'self' ${new URL(redirectUri).origin}`;
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .header('content-security-policy', `default-src 'none'; style-src ${STYLE_HASH}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    // same-origin: our own form posts carry our real Origin (no-referrer made Chromium send
    // `Origin: null`); other sites, the client included, still get no Referer from these pages.
    .header('referrer-policy', 'same-origin');
}

function redirectWith(reply: FastifyReply, ctx: AuthContext, redirectUri: string, params: Record<string, string | undefined>): FastifyReply {
  const target = new URL(redirectUri);
  for (const [name, value] of Object.entries({ ...params, iss: issuerId(ctx.config) })) {
    if (value !== undefined) target.searchParams.append(name, value);
  }
  return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(target.href, 303);
}

/** The client and redirect URI, if both are right; else the error page's message. */
async function trustedTarget(ctx: AuthContext, clientId: string | undefined, presented: string | undefined): Promise<{ client: OAuthClientRow; redirectUri: string } | string> {
  const client = clientId === undefined ? undefined : await findClient(ctx.db, clientId);
  if (!client) return 'The application is not registered here (unknown client_id).';
  const redirectUri = resolveRedirectUri(client, presented === '' ? undefined : presented);
  if (redirectUri === undefined) {
    return presented === undefined || presented === '' ? 'The redirect_uri is required: this application has more than one.' : 'The redirect_uri is not registered for this application.';
  }
  return { client, redirectUri };
}

/** The scopes the consent page asks for (in the order asked). */
function consentScopes(pending: PendingAuthorization): string[] {
  return [...scopeSet(pending.scope)];
}

export const authorizeRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx, loginLimiter }) => {
  const formOrigin = requireFormPostOrigin(ctx.config);
  // The form key is derived once here, not per request.
  const form = signInForm(ctx.config.keyEncryptionKey, FORM_TTL_SECONDS);
  const clearFormCookie = (reply: FastifyReply) => reply.clearCookie(FORM_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: FORM_COOKIE_PATH });

  /** The code for a signed-in (and, for a third-party client, consenting) user, and the redirect. */
  const complete = async (request: FastifyRequest, reply: FastifyReply, client: OAuthClientRow, pending: PendingAuthorization, userId: string, authTime: Date, amr: readonly string[]) => {
    const code = await issueAuthorizationCode(ctx, {
      clientId: client.id,
      userId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      scope: pending.scope,
      nonce: pending.oidcNonce ?? null,
      authTime,
      amr,
    });
    request.log.info({ userId, clientId: client.id }, 'authorization code issued');
    void clearFormCookie(reply);
    return redirectWith(reply, ctx, pending.redirectUri, { code, state: pending.state });
  };

  /** The consent page for `user`, its field signed for this request and this browser's cookie. */
  const askConsent = async (reply: FastifyReply, client: OAuthClientRow, pending: PendingAuthorization, nonce: string, user: Pick<UserRow, 'id' | 'email'>, authTime: Date, amr: readonly string[]) => {
    const consent = await form.signConsent(nonce, { pending, userId: user.id, authTime: authTime.getTime(), amr: [...amr] });
    return htmlHeaders(reply, pending.redirectUri).send(
      consentPage({ clientName: client.name, consent, email: user.email, scopes: consentScopes(pending), describe: (scope) => SCOPE_DESCRIPTIONS.get(scope) ?? scope }),
    );
  };

  /** After the sign-in (and its code, if any): the consent page for a third-party client not yet approved, else the code. */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply, client: OAuthClientRow, pending: PendingAuthorization, nonce: string, user: Pick<UserRow, 'id' | 'email'>, amr: readonly string[]) => {
    const authTime = new Date();
    const approved = client.first_party || (!pending.forceConsent && (await consentCovers(ctx.db, user.id, client.id, consentScopes(pending))));
    if (!approved) return askConsent(reply, client, pending, nonce, user, authTime, amr);
    return complete(request, reply, client, pending, user.id, authTime, amr);
  };

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
    const prompt = scopeSet(query.prompt);
    if ([...prompt].some((value) => !PROMPT_VALUES.has(value))) return fail('invalid_request', 'prompt may hold none, login, consent and select_account only.');
    if (prompt.has('none') && prompt.size > 1) return fail('invalid_request', 'prompt=none cannot be combined with other values.');
    if (query.max_age !== undefined && !/^[0-9]{1,10}$/.test(query.max_age)) return fail('invalid_request', 'max_age must be a number of seconds.');
    // Checked against the registration here; `admin` is dropped for non-admins at the exchange.
    let scope: string | null;
    try {
      scope = registeredScope(parseScope(query.scope), client.scopes).join(' ') || null;
    } catch {
      return fail('invalid_scope', 'The requested scope is not allowed for this client.');
    }
    // Every sign-in here shows the form (no sign-in cookie to authenticate silently with).
    if (prompt.has('none')) return fail('login_required', 'The user must sign in: prompt=none cannot be satisfied.');
    const existing = request.cookies[FORM_COOKIE];
    const nonce = existing !== undefined && NONCE_PATTERN.test(existing) ? existing : randomBytes(32).toString('base64url');
    const pending: PendingAuthorization = {
      clientId: client.id,
      redirectUri,
      state: query.state,
      codeChallenge: query.code_challenge,
      scope,
      oidcNonce: query.nonce,
      forceConsent: prompt.has('consent'),
    };
    void reply.setCookie(FORM_COOKIE, nonce, { httpOnly: true, secure: true, sameSite: 'strict', path: FORM_COOKIE_PATH, maxAge: FORM_TTL_SECONDS });
    return htmlHeaders(reply, redirectUri).send(loginPage({ clientName: client.name, request: await form.sign(nonce, pending), scope }));
  });

  app.post('/oauth/authorize', {
    schema: { body: AuthorizeForm, response: { 200: Html, 303: Empty, 400: HtmlOrError, 403: HtmlOrError, 415: ErrorBody, 429: Html } },
    onRequest: formOrigin,
  }, async (request: FastifyRequest<{ Body: { email: string; password: string; request: string } }>, reply) => {
    const { email, password } = request.body;
    const nonce = request.cookies[FORM_COOKIE];
    const pending = nonce !== undefined && NONCE_PATTERN.test(nonce) ? await form.open(nonce, request.body.request) : undefined;
    if (!pending || nonce === undefined) return htmlHeaders(reply).code(400).send(errorPage('This sign-in form has expired or did not come from this site.'));
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
    try {
      assertMayLogIn(ctx.config, user);
    } catch (error) {
      if (error instanceof AppError && error.code === 'email_not_verified') return again(403, error.message);
      throw error;
    }
    // A password alone does not get past a second factor: the code page comes next, carrying the
    // two-step login's token (the password was right: nobody else sees this page).
    if (await mfaEnabled(ctx.db, user.id)) {
      ctx.metrics.logins.inc({ outcome: 'mfa_required' });
      const mfaToken = await startMfaLogin(ctx, user.id, false);
      return htmlHeaders(reply, pending.redirectUri).send(codePage({ clientName: target.client.name, request: request.body.request, mfaToken }));
    }
    ctx.metrics.logins.inc({ outcome: 'success' });
    return signedIn(request, reply, target.client, pending, nonce, user, PASSWORD_AMR);
  });

  app.post('/oauth/authorize/mfa', {
    schema: { body: AuthorizeCodeForm, response: { 200: Html, 303: Empty, 400: HtmlOrError, 403: ErrorBody, 415: ErrorBody, 429: Html } },
    onRequest: formOrigin,
  }, async (request, reply) => {
    const { mfa_token: mfaToken, code } = request.body;
    const nonce = request.cookies[FORM_COOKIE];
    const pending = nonce !== undefined && NONCE_PATTERN.test(nonce) ? await form.open(nonce, request.body.request) : undefined;
    if (!pending || nonce === undefined) return htmlHeaders(reply).code(400).send(errorPage('This sign-in form has expired or did not come from this site.'));
    const target = await trustedTarget(ctx, pending.clientId, pending.redirectUri);
    if (typeof target === 'string') return htmlHeaders(reply).code(400).send(errorPage(target));
    const expired = () => htmlHeaders(reply).code(400).send(errorPage('This sign-in took too long or was already used. Go back to the application and sign in again.'));
    const again = (status: number, error: string) =>
      htmlHeaders(reply, pending.redirectUri).code(status).send(codePage({ clientName: target.client.name, request: request.body.request, mfaToken, error }));
    // As at POST /auth/login/mfa: an unknown token spends no limit; a live one names the account
    // whose login limits (per account and per IP) the code attempt counts against.
    const userId = await mfaLoginUser(ctx.db, mfaToken);
    const pendingUser = userId === undefined ? undefined : await findUser(ctx.db, userId);
    if (!pendingUser) return expired();
    try {
      await loginLimiter.check(pendingUser.email, request);
      const done = await completeMfaLogin(ctx, mfaToken, code, requestMeta(request));
      const user = await findUser(ctx.db, done.userId);
      if (!user || user.disabled) return htmlHeaders(reply).code(400).send(errorPage('This account cannot sign in.'));
      ctx.metrics.logins.inc({ outcome: 'success' });
      return await signedIn(request, reply, target.client, pending, nonce, user, PASSWORD_OTP_AMR);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.statusCode === 429) {
        void reply.header('retry-after', error.headers['retry-after'] ?? '60');
        return again(429, 'Too many sign-in attempts. Wait a minute and try again.');
      }
      if (error.code === 'invalid_code') return again(400, 'The code is wrong or was already used. Try the next code from your app.');
      if (error.code === 'invalid_token') return expired();
      throw error;
    }
  });

  app.post('/oauth/authorize/consent', {
    schema: { body: ConsentForm, response: { 303: Empty, 400: HtmlOrError, 403: ErrorBody, 415: ErrorBody } },
    onRequest: formOrigin,
  }, async (request, reply) => {
    const nonce = request.cookies[FORM_COOKIE];
    const consent = nonce !== undefined && NONCE_PATTERN.test(nonce) ? await form.openConsent(nonce, request.body.consent) : undefined;
    if (!consent) return htmlHeaders(reply).code(400).send(errorPage('This consent form has expired or did not come from this site.'));
    const { pending } = consent;
    const target = await trustedTarget(ctx, pending.clientId, pending.redirectUri);
    if (typeof target === 'string') return htmlHeaders(reply).code(400).send(errorPage(target));
    const user = await findUser(ctx.db, consent.userId);
    if (!user || user.disabled) return htmlHeaders(reply).code(400).send(errorPage('This account cannot sign in.'));
    if (request.body.decision === 'deny') {
      request.log.info({ userId: user.id, clientId: target.client.id }, 'consent denied');
      void clearFormCookie(reply);
      return redirectWith(reply, ctx, pending.redirectUri, { error: 'access_denied', error_description: 'The user denied the request.', state: pending.state });
    }
    await grantConsent(ctx, user.id, target.client.id, consentScopes(pending), requestMeta(request));
    return complete(request, reply, target.client, pending, user.id, new Date(consent.authTime), consent.amr);
  });
};
