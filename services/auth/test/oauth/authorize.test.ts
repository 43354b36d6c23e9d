// The authorization code flow with PKCE S256, driven by openid-client v6 (unchanged) and plain
// HTTP for the login form the way a browser would: fetch the page, post the form with its cookie,
// follow the redirect to the client, exchange the code.
import { test } from 'tap';
import * as client from 'openid-client';
import { findSession } from '../../src/sessions/repository.js';
import { claimsOf, registerAndLogin, uniqueEmail, PASSWORD } from '../helpers.js';
import { FORM, REDIRECT, authorize, basic, consentField, form, oauthFailure, openLoginForm, register, startFlow, startIssuer, submitConsent, submitLogin, type RegisteredClient } from '../oauth-helpers.js';

test('authorization code + PKCE with openid-client, through the HTML login form', async (t) => {
  const auth = await startIssuer(t);
  const confidential = await register(auth, { name: 'Orders <Dashboard>', grants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['orders:read', 'profile'] });
  const spa = await register(auth, { name: 'spa', public: true, grants: ['authorization_code'], redirectUris: [REDIRECT] });
  const { email, userId } = await registerAndLogin(auth.base, uniqueEmail('authz'));

  await t.test('the full flow: login page, form post, redirect, code exchange, refresh', async (t) => {
    const flow = await startFlow(auth, confidential, 'basic', { scope: 'orders:read' });
    const page = await openLoginForm(flow.url);
    t.equal(page.status, 200);
    t.match(page.headers.get('content-type'), /^text\/html; charset=utf-8/);
    t.match(page.html, /<label for="email">Email<\/label>/, 'labelled email field');
    t.match(page.html, /<label for="password">Password<\/label>/, 'labelled password field');
    t.match(page.html, /<html lang="en">/);
    t.notMatch(page.html, /<script/i, 'no script');
    t.match(page.html, /Orders &lt;Dashboard&gt;/, 'the client name, escaped');
    t.notMatch(page.html, /Orders <Dashboard>/);
    t.match(page.headers.get('content-security-policy'), /default-src 'none'.*form-action 'self' http:\/\/localhost:4000.*frame-ancestors 'none'/);
    t.equal(page.headers.get('cache-control'), 'no-store');
    t.match(page.cookie, /^oauth_login=[A-Za-z0-9_-]{43}$/);
    t.match(page.headers.getSetCookie().join(), /HttpOnly; Secure; SameSite=Strict/);

    const wrong = await submitLogin(auth, page, email, 'not my password');
    t.equal(wrong.status, 400);
    const wrongHtml = await wrong.text();
    t.match(wrongHtml, /role="alert"[^>]*>The email or password is wrong\./, 'the form again, with the error announced');
    t.equal(wrong.headers.get('location'), null, 'no code');

    // A third-party client: the consent page comes after the sign-in, then the redirect.
    const signedIn = await submitLogin(auth, page, email, PASSWORD);
    t.equal(signedIn.status, 200, 'the consent page');
    const consentHtml = await signedIn.text();
    t.match(consentHtml, /Allow Orders &lt;Dashboard&gt; to access your account\?/, 'names the client, escaped');
    t.match(consentHtml, /<li>See your orders<\/li>/, 'the scope in plain words');
    t.match(consentHtml, /value="approve">Allow<\/button>/);
    t.match(consentHtml, /value="deny">Deny<\/button>/);
    t.notMatch(consentHtml, /<script/i, 'no script');
    t.equal(signedIn.headers.get('referrer-policy'), 'same-origin', 'one referrer policy, which keeps our Origin on our own form posts');
    t.notMatch(consentHtml, /name="referrer"/, 'no second policy in a meta tag');
    const res = await submitConsent(auth, page.cookie, consentField(consentHtml), 'approve');
    t.equal(res.status, 303);
    const landed = new URL(res.headers.get('location')!);
    t.equal(`${landed.origin}${landed.pathname}`, REDIRECT);
    t.equal(landed.searchParams.get('state'), flow.state);
    t.equal(landed.searchParams.get('iss'), auth.base, 'RFC 9207 iss');
    t.match(landed.searchParams.get('code'), /^[A-Za-z0-9_-]{43}$/);

    const tokens = await client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    t.equal(tokens.scope, 'orders:read');
    t.ok(tokens.refresh_token, 'a refresh token for a client registered for the refresh grant');
    const claims = claimsOf(tokens.access_token);
    t.match(claims, { sub: userId, role: 'user', client_id: confidential.id, scope: 'orders:read' });
    t.type(claims.sid, 'string');
    const refreshed = await client.refreshTokenGrant(flow.config, tokens.refresh_token!);
    t.equal(refreshed.scope, 'orders:read', 'the scope carries into refreshed tokens');
    t.equal(claimsOf(refreshed.access_token).scope, 'orders:read');
    t.match(await oauthFailure(client.refreshTokenGrant(flow.config, refreshed.refresh_token!, { scope: 'profile' })), { error: 'invalid_scope' }, 'never wider than granted');

    // Replaying the code: invalid_grant, and the session it created is revoked.
    t.match(await oauthFailure(client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state })), { error: 'invalid_grant', status: 400 });
    t.equal((await findSession(auth.ctx.db, claims.sid as string))?.revoked_reason, 'authorization_code_replay');
    t.same(await client.tokenIntrospection(flow.config, refreshed.access_token), { active: false }, 'tokens issued from the code are inactive');
    const revoked = await auth.ctx.bus.listExpiring('revoked');
    t.ok(revoked.some((m) => m.member === `session:${claims.sid as string}`), 'the gateways are told');
  });

  await t.test('a public client (no secret) with PKCE', async (t) => {
    const flow = await startFlow(auth, spa, 'none');
    const landed = await authorize(auth, flow, email);
    const tokens = await client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    t.match(claimsOf(tokens.access_token), { sub: userId, client_id: spa.id });
    t.notOk(tokens.refresh_token, 'no refresh token: not registered for the refresh grant');
  });

  await t.test('token endpoint errors: mismatched redirect_uri, wrong verifier, another client, expired', async (t) => {
    const flow = await startFlow(auth, confidential, 'basic');
    const landed = await authorize(auth, flow, email);
    const code = landed.searchParams.get('code')!;
    const exchange = (params: Record<string, string>, who: RegisteredClient = confidential) =>
      fetch(`${auth.base}/oauth/token`, {
        method: 'POST',
        headers: { ...FORM, ...(who.secret ? basic(who.id, who.secret) : {}) },
        body: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: flow.verifier, ...(who.secret ? {} : { client_id: who.id }), ...params }),
      });
    const expectError = async (res: Response, error: string, what: string) => {
      t.equal(res.status, 400, what);
      t.equal(res.headers.get('cache-control'), 'no-store');
      t.match(await res.json(), { error }, what);
    };
    await expectError(await exchange({ redirect_uri: `${REDIRECT}/` }), 'invalid_grant', 'a redirect_uri that differs by one character');
    await expectError(await exchange({ code_verifier: client.randomPKCECodeVerifier() }), 'invalid_grant', 'a wrong PKCE verifier');
    await expectError(await exchange({ code_verifier: 'short' }), 'invalid_request', 'a malformed verifier');
    await expectError(await exchange({ redirect_uri: 'http://localhost:4001/callback' }), 'invalid_grant', 'a redirect_uri on another port of localhost (a name, not a loopback IP)');
    await expectError(await exchange({}, spa), 'invalid_grant', 'a code of another client');
    // Through openid-client: the wrong verifier is refused the same way.
    t.match(await oauthFailure(client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: flow.state })), { error: 'invalid_grant' });
    // None of those attempts spent the code: the legitimate exchange still works, once.
    const good = await exchange({});
    t.equal(good.status, 200);
    await expectError(await exchange({}), 'invalid_grant', 'the code is single-use');

    const late = await startFlow(auth, confidential, 'basic');
    const lateLanded = await authorize(auth, late, email);
    await auth.ctx.db.updateTable('auth.authorization_codes').set({ expires_at: new Date(Date.now() - 1000) }).where('used_at', 'is', null).execute();
    t.match(await oauthFailure(client.authorizationCodeGrant(late.config, lateLanded, { pkceCodeVerifier: late.verifier, expectedState: late.state })), { error: 'invalid_grant' }, 'an expired code');
  });

  await t.test('two concurrent exchanges of one code: exactly one wins, and its session is revoked', async (t) => {
    const flow = await startFlow(auth, confidential, 'basic');
    const landed = await authorize(auth, flow, email);
    const body = form({ grant_type: 'authorization_code', code: landed.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: flow.verifier });
    const results = await Promise.all(
      [1, 2, 3].map(async () => {
        const res = await fetch(`${auth.base}/oauth/token`, { method: 'POST', headers: { ...FORM, ...basic(confidential.id, confidential.secret!) }, body });
        return { status: res.status, body: (await res.json()) as Record<string, string> };
      }),
    );
    const winners = results.filter((r) => r.status === 200);
    t.equal(winners.length, 1, 'one exchange succeeds');
    t.same(results.filter((r) => r.status === 400).map((r) => r.body.error), ['invalid_grant', 'invalid_grant']);
    const sid = claimsOf(winners[0]!.body.access_token!).sid as string;
    t.equal((await findSession(auth.ctx.db, sid))?.revoked_reason, 'authorization_code_replay', 'the replays revoked what the winner got');
    const logins = await auth.ctx.db.selectFrom('auth.audit_events').select(['event', 'details']).where('session_id', '=', sid).where('event', '=', 'login_success').execute();
    t.same(logins, [{ event: 'login_success', details: { client_id: confidential.id, grant: 'authorization_code' } }], 'one login_success row, written with the session');
  });

  await t.test('authorization endpoint errors: never redirect to an unverified URI', async (t) => {
    const twoRedirects = await register(auth, { name: 'two', grants: ['authorization_code'], redirectUris: [REDIRECT, 'https://app.example/cb'] });
    const base = (params: Record<string, string>) => {
      const url = new URL(`${auth.base}/oauth/authorize`);
      for (const [k, v] of Object.entries({ response_type: 'code', client_id: confidential.id, redirect_uri: REDIRECT, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'xyz', ...params })) {
        if (v !== '') url.searchParams.set(k, v);
      }
      return url;
    };
    for (const [params, what] of [
      [{ client_id: 'unknown' }, 'an unknown client'],
      [{ redirect_uri: 'https://evil.example/callback' }, 'an unregistered redirect URI'],
      [{ redirect_uri: `${REDIRECT}?x=1` }, 'a redirect URI with an extra query'],
      [{ client_id: twoRedirects.id, redirect_uri: '' }, 'no redirect URI while two are registered'],
      [{ redirect_uri: 'http://localhost:4001/callback' }, 'localhost on another port (only loopback IPs may change port)'],
    ] as const) {
      const page = await openLoginForm(base(params));
      t.equal(page.status, 400, what);
      t.match(page.html, /role="alert"/, `${what}: an error page`);
      t.equal(page.request, '', `${what}: no login form`);
    }
    for (const [params, error] of [
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge_method: '' }, 'invalid_request'],
      [{ code_challenge: '' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ scope: 'admin' }, 'invalid_scope'],
    ] as const) {
      const res = await fetch(base(params), { redirect: 'manual' });
      t.equal(res.status, 303, `${JSON.stringify(params)} is redirected`);
      const location = new URL(res.headers.get('location')!);
      t.equal(`${location.origin}${location.pathname}`, REDIRECT);
      t.equal(location.searchParams.get('error'), error);
      t.equal(location.searchParams.get('state'), 'xyz');
    }
    const repeated = await fetch(`${auth.base}/oauth/authorize?client_id=a&client_id=b`);
    t.equal(repeated.status, 400, 'a repeated parameter');
    t.match(await repeated.json(), { error: 'invalid_request' });
    const malformed = await fetch(`${auth.base}/oauth/authorize`, { method: 'POST', headers: FORM, body: form({ email: 'a@b.c' }) });
    t.equal(malformed.status, 400, 'a form post without its fields');
    t.match(await malformed.json(), { error: 'invalid_request' });
    const notAllowed = await fetch(base({ client_id: (await register(auth, { name: 'svc', grants: ['client_credentials'] })).id }), { redirect: 'manual' });
    t.equal(notAllowed.status, 400, 'a client without redirect URIs gets the error page');
  });

  await t.test('the login form resists CSRF and tampering', async (t) => {
    const flow = await startFlow(auth, confidential, 'basic');
    const page = await openLoginForm(flow.url);
    const other = await openLoginForm((await startFlow(auth, confidential, 'basic')).url);
    const refused = async (res: Response, what: string) => {
      t.equal(res.status, 400, what);
      t.match(await res.text(), /expired or did not come from this site/, what);
      t.equal(res.headers.get('location'), null);
    };
    await refused(await submitLogin(auth, { request: page.request, cookie: '' }, email, PASSWORD), 'no cookie (a cross-site post)');
    await refused(await submitLogin(auth, { request: page.request, cookie: other.cookie }, email, PASSWORD), "another browser's cookie");
    const [header, payload, signature] = page.request.split('.') as [string, string, string];
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), redirectUri: 'https://evil.example/cb' })).toString('base64url');
    await refused(await submitLogin(auth, { request: `${header}.${altered}.${signature}`, cookie: page.cookie }, email, PASSWORD), 'an altered request');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'keygate-authorize-form+jwt' })).toString('base64url')}.${payload}.`;
    await refused(await submitLogin(auth, { request: unsigned, cookie: page.cookie }, email, PASSWORD), 'an unsigned (alg none) request');
    const foreign = await fetch(`${auth.base}/oauth/authorize`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: page.cookie, origin: 'https://evil.example' }, body: form({ email, password: PASSWORD, request: page.request }) });
    t.equal(foreign.status, 403, 'a foreign Origin');
    t.equal((await submitLogin(auth, page, email, PASSWORD)).status, 303, 'the genuine form still works (straight to the client: the consent is remembered)');
  });
});

test('the login form shares the login rate limits', async (t) => {
  const auth = await startIssuer(t, { RATE_LIMIT_LOGIN_PER_ACCOUNT: '2' });
  const app = await register(auth, { name: 'app', grants: ['authorization_code'], redirectUris: [REDIRECT] });
  const { email } = await registerAndLogin(auth.base, uniqueEmail('limited'));
  const page = await openLoginForm((await startFlow(auth, app, 'basic')).url);
  // registerAndLogin's /auth/login counted once: one more attempt is allowed, then 429.
  t.equal((await submitLogin(auth, page, email, 'wrong password')).status, 400);
  const limited = await submitLogin(auth, page, email, PASSWORD);
  t.equal(limited.status, 429, 'even with the right password');
  t.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After');
  t.match(await limited.text(), /role="alert"[^>]*>Too many sign-in attempts/);
  t.equal(limited.headers.get('location'), null);
});
