// The consent step of /oauth/authorize and the consents API: a third-party client is asked for,
// a first-party one is not; approve, deny, remembered per scopes, prompt=consent; the consent form
// is bound to its browser's cookie and to its own pending request; the sign-in and consent forms
// accept what Chromium really sends and refuse cross-site posts; withdrawing a consent revokes the
// client's sessions of the user and tells the gateways.
import { test } from 'tap';
import * as client from 'openid-client';
import { bearer, claimsOf, http, registerAndLogin, uniqueEmail, PASSWORD } from '../helpers.js';
import { FORM, REDIRECT, consentField, form, openLoginForm, register, startFlow, startIssuer, submitConsent, submitLogin } from '../oauth-helpers.js';
import type { TestAuth } from '../helpers.js';

/** Opens the sign-in page of a new flow in a browser that may already hold the form cookie. */
async function signInPage(auth: TestAuth, url: URL, cookie?: string): Promise<{ request: string; cookie: string }> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  const html = await res.text();
  const request = (/name="request" value="([^"]+)"/.exec(html)?.[1] ?? '').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const set = res.headers.getSetCookie().find((c) => c.startsWith('oauth_login='))?.split(';')[0];
  return { request, cookie: set ?? cookie ?? '' };
}

test('consent for third-party clients', async (t) => {
  const auth = await startIssuer(t);
  const thirdParty = await register(auth, { name: 'Photo <Printer>', grants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['openid', 'email', 'orders:read'] });
  const firstParty = await register(auth, { name: 'our own app', public: true, firstParty: true, grants: ['authorization_code'], redirectUris: [REDIRECT], scopes: ['openid', 'account'] });
  const { email, userId, accessToken: own } = await registerAndLogin(auth.base, uniqueEmail('consent'));

  await t.test('deny: back to the client with access_denied, nothing remembered', async (t) => {
    const flow = await startFlow(auth, thirdParty, 'basic', { scope: 'openid email' });
    const page = await openLoginForm(flow.url);
    const signedIn = await submitLogin(auth, page, email, PASSWORD);
    t.equal(signedIn.status, 200);
    const html = await signedIn.text();
    t.match(html, /Allow Photo &lt;Printer&gt; to access your account\?/);
    t.match(html, /<li>Know who you are on this service \(your account id\)<\/li>/);
    t.match(html, /<li>See your email address and whether it is verified<\/li>/);
    t.notMatch(html, /See your orders/, 'only the scopes asked for');
    t.match(html, new RegExp(`signed in as <strong>${email}</strong>`));
    t.match(signedIn.headers.get('content-security-policy'), /form-action 'self' http:\/\/localhost:4000/);
    const denied = await submitConsent(auth, page.cookie, consentField(html), 'deny');
    t.equal(denied.status, 303);
    const location = new URL(denied.headers.get('location')!);
    t.equal(`${location.origin}${location.pathname}`, REDIRECT);
    t.equal(location.searchParams.get('error'), 'access_denied');
    t.equal(location.searchParams.get('state'), flow.state);
    t.equal(location.searchParams.get('iss'), auth.base);
    t.equal(location.searchParams.get('code'), null);
    t.same((await http(auth.base, 'GET', '/auth/consents', { headers: bearer(own) })).body, []);
  });

  let firstSid = '';
  await t.test('approve: a code, remembered for the same or fewer scopes, asked again for more', async (t) => {
    const flow = await startFlow(auth, thirdParty, 'basic', { scope: 'openid email' });
    const page = await openLoginForm(flow.url);
    const approved = await submitConsent(auth, page.cookie, consentField(await (await submitLogin(auth, page, email, PASSWORD)).text()), 'approve');
    t.equal(approved.status, 303);
    const landed = new URL(approved.headers.get('location')!);
    const tokens = await client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    firstSid = claimsOf(tokens.access_token).sid as string;
    t.match(tokens.claims(), { sub: userId });
    t.equal(approved.headers.getSetCookie().some((c) => /^oauth_login=;/.test(c)), true, 'the form cookie is cleared');

    const list = await http(auth.base, 'GET', '/auth/consents', { headers: bearer(own) });
    t.equal(list.status, 200);
    t.match(list.body, [{ client_id: thirdParty.id, client_name: 'Photo <Printer>', scopes: ['openid', 'email'] }]);
    t.equal(list.headers.get('cache-control'), 'no-store');

    const fewer = await startFlow(auth, thirdParty, 'basic', { scope: 'openid' });
    t.equal((await submitLogin(auth, await openLoginForm(fewer.url), email, PASSWORD)).status, 303, 'fewer scopes: straight back to the client');
    const forced = await startFlow(auth, thirdParty, 'basic', { scope: 'openid', prompt: 'consent' });
    t.equal((await submitLogin(auth, await openLoginForm(forced.url), email, PASSWORD)).status, 200, 'prompt=consent asks again');
    const more = await startFlow(auth, thirdParty, 'basic', { scope: 'openid orders:read' });
    const morePage = await openLoginForm(more.url);
    const asked = await submitLogin(auth, morePage, email, PASSWORD);
    t.equal(asked.status, 200, 'a scope never approved: asked again');
    t.equal((await submitConsent(auth, morePage.cookie, consentField(await asked.text()), 'approve')).status, 303);
    t.match((await http(auth.base, 'GET', '/auth/consents', { headers: bearer(own) })).body, [{ scopes: ['email', 'openid', 'orders:read'] }], 'the approvals add up');
  });

  await t.test('a first-party client gets no consent page', async (t) => {
    const flow = await startFlow(auth, firstParty, 'none', { scope: 'openid account' });
    const res = await submitLogin(auth, await openLoginForm(flow.url), email, PASSWORD);
    t.equal(res.status, 303);
    t.ok(new URL(res.headers.get('location')!).searchParams.get('code'));
  });

  await t.test('the consent form is bound to its browser, its request and its user', async (t) => {
    // Two authorization requests pending in one browser (the same form cookie): A for orders,
    // B (say, started by an attacker's link) with other PKCE and state.
    const a = await startFlow(auth, thirdParty, 'basic', { scope: 'openid orders:read', prompt: 'consent' });
    const b = await startFlow(auth, thirdParty, 'basic', { scope: 'openid', prompt: 'consent' });
    const pageA = await signInPage(auth, a.url);
    const pageB = await signInPage(auth, b.url, pageA.cookie);
    t.equal(pageB.cookie, pageA.cookie, 'one browser, one form cookie');
    const consentA = consentField(await (await submitLogin(auth, pageA, email, PASSWORD)).text());
    t.not(consentA, '');
    const refused = async (res: Response, what: string) => {
      t.equal(res.status, 400, what);
      t.match(await res.text(), /expired or did not come from this site/, what);
      t.equal(res.headers.get('location'), null, `${what}: no redirect`);
    };
    const other = await signInPage(auth, (await startFlow(auth, thirdParty, 'basic')).url);
    await refused(await submitConsent(auth, other.cookie, consentA, 'approve'), "another browser's cookie");
    await refused(await submitConsent(auth, '', consentA, 'approve'), 'no cookie (a cross-site post)');
    const [header, payload, signature] = consentA.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { pending: Record<string, unknown>; userId: string };
    const forge = (changed: Record<string, unknown>) => `${header}.${Buffer.from(JSON.stringify({ ...claims, ...changed })).toString('base64url')}.${signature}`;
    await refused(await submitConsent(auth, pageA.cookie, forge({ pending: { ...claims.pending, codeChallenge: b.url.searchParams.get('code_challenge'), state: b.state } }), 'approve'), "A's consent rewritten for B's request");
    const victim = await registerAndLogin(auth.base, uniqueEmail('victim'));
    await refused(await submitConsent(auth, pageA.cookie, forge({ userId: victim.userId }), 'approve'), 'rewritten for another user');
    await refused(await submitConsent(auth, pageA.cookie, pageB.request, 'approve'), "a sign-in form's field posted as consent");
    const asSignIn = await submitLogin(auth, { request: consentA, cookie: pageA.cookie }, email, PASSWORD);
    await refused(asSignIn, 'a consent field posted as a sign-in form');

    // The genuine consent completes A, exactly: A's state, and only A's verifier redeems the code.
    const done = await submitConsent(auth, pageA.cookie, consentA, 'approve');
    t.equal(done.status, 303);
    const landed = new URL(done.headers.get('location')!);
    t.equal(landed.searchParams.get('state'), a.state, "A's state, not B's");
    const withB = await fetch(`${auth.base}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: `Basic ${Buffer.from(`${thirdParty.id}:${thirdParty.secret!}`).toString('base64')}` },
      body: form({ grant_type: 'authorization_code', code: landed.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: b.verifier }),
    });
    t.equal(withB.status, 400, "B's verifier cannot redeem A's code");
    const tokens = await client.authorizationCodeGrant(a.config, landed, { pkceCodeVerifier: a.verifier, expectedState: a.state });
    t.equal(tokens.scope, 'openid orders:read');
  });

  await t.test('the forms in a real browser: Origin null with Sec-Fetch-Site same-origin passes, cross-site posts do not', async (t) => {
    const post = async (path: string, body: Record<string, string>, cookie: string, headers: Record<string, string>) =>
      fetch(`${auth.base}${path}`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie, ...headers }, body: form(body) });
    const cases: [Record<string, string>, string][] = [
      [{ origin: 'null' }, 'Origin null without Sec-Fetch-Site'],
      [{ origin: 'null', 'sec-fetch-site': 'cross-site' }, 'Origin null, cross-site'],
      [{ origin: 'null', 'sec-fetch-site': 'same-site' }, 'Origin null, same-site (another port of this host)'],
      [{ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 'a foreign Origin'],
      [{ origin: 'https://evil.example' }, 'a foreign Origin without Sec-Fetch-Site'],
      [{ 'sec-fetch-site': 'cross-site' }, 'cross-site without Origin'],
      [{ origin: auth.base, 'sec-fetch-site': 'same-site' }, 'our Origin but Sec-Fetch-Site same-site'],
    ];
    const flow = await startFlow(auth, thirdParty, 'basic', { scope: 'openid orders:read', prompt: 'consent' });
    const page = await signInPage(auth, flow.url);
    for (const [headers, what] of cases) {
      const res = await post('/oauth/authorize', { email, password: PASSWORD, request: page.request }, page.cookie, headers);
      t.equal(res.status, 403, `sign-in: ${what}`);
      t.match(await res.json(), { error: 'invalid_origin' });
    }
    // What Chromium sends for the genuine post (the page's policy was no-referrer: Origin null).
    const chromium = await post('/oauth/authorize', { email, password: PASSWORD, request: page.request }, page.cookie, { origin: 'null', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' });
    t.equal(chromium.status, 200, 'sign-in: Origin null + Sec-Fetch-Site same-origin is our own page');
    const consent = consentField(await chromium.text());
    for (const [headers, what] of cases) {
      const res = await post('/oauth/authorize/consent', { consent, decision: 'approve' }, page.cookie, headers);
      t.equal(res.status, 403, `consent: ${what}`);
    }
    const genuine = await post('/oauth/authorize/consent', { consent, decision: 'approve' }, page.cookie, { origin: auth.base, 'sec-fetch-site': 'same-origin' });
    t.equal(genuine.status, 303, 'consent: our own Origin, same-origin');
  });

  await t.test('withdrawing a consent revokes the client sessions of the user, and tells the gateways', async (t) => {
    const before = await http(auth.base, 'GET', '/auth/sessions', { headers: bearer(own) });
    t.equal(before.status, 200);
    const otherUser = await registerAndLogin(auth.base, uniqueEmail('bystander'));
    const flow = await startFlow(auth, thirdParty, 'basic', { scope: 'openid' });
    const page = await openLoginForm(flow.url);
    const signedIn = await submitLogin(auth, page, otherUser.email, PASSWORD);
    const bystanderLanded = new URL((await submitConsent(auth, page.cookie, consentField(await signedIn.text()), 'approve')).headers.get('location')!);
    const bystander = await client.authorizationCodeGrant(flow.config, bystanderLanded, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });

    const withdrawn = await http(auth.base, 'DELETE', `/auth/consents/${thirdParty.id}`, { headers: bearer(own) });
    t.equal(withdrawn.status, 204);
    const session = await auth.ctx.db.selectFrom('auth.sessions').select(['revoked_reason']).where('id', '=', firstSid).executeTakeFirstOrThrow();
    t.equal(session.revoked_reason, 'consent_withdrawn', "the client's session of this user is revoked");
    const revoked = await auth.ctx.bus.listExpiring('revoked');
    t.ok(revoked.some((m) => m.member === `session:${firstSid}`), 'the gateways are told');
    const live = await auth.ctx.db.selectFrom('auth.sessions').select('id').where('user_id', '=', userId).where('client_id', '=', thirdParty.id).where('revoked_at', 'is', null).execute();
    t.same(live, [], 'none of its sessions of this user is left');
    t.equal((await http(auth.base, 'GET', '/oauth/userinfo', { headers: bearer(bystander.access_token) })).status, 200, "another user's session with the client is untouched");
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: bearer(own) })).status, 200, "the user's own first-party session is untouched");
    t.same((await http(auth.base, 'GET', '/auth/consents', { headers: bearer(own) })).body, []);
    const again = await http(auth.base, 'DELETE', `/auth/consents/${thirdParty.id}`, { headers: bearer(own) });
    t.equal(again.status, 404);
    t.match(again.body, { error: 'not_found' });
    t.equal((await http(auth.base, 'DELETE', '/auth/consents/bad%20id', { headers: bearer(own) })).status, 400, 'a malformed client id');
    t.equal((await http(auth.base, 'DELETE', `/auth/consents/${thirdParty.id}`)).status, 401, 'no token');
    const audit = await auth.ctx.db.selectFrom('auth.audit_events').select(['event', 'details']).where('user_id', '=', userId).where('event', 'in', ['consent_granted', 'consent_withdrawn']).execute();
    t.ok(audit.some((row) => row.event === 'consent_withdrawn'), 'audited');
    const next = await startFlow(auth, thirdParty, 'basic', { scope: 'openid' });
    t.equal((await submitLogin(auth, await openLoginForm(next.url), email, PASSWORD)).status, 200, 'the consent page is back');
  });
});
