// The TOTP second factor, the two-step login, remember me and who may call each endpoint
// (contract, "Accounts"). Codes are computed the way an authenticator app does, with otpauth.
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { test } from 'tap';
import { Secret, TOTP } from 'otpauth';
import { startSession } from '../../src/sessions/service.js';
import { issueAccessToken } from '../../src/sessions/access-tokens.js';
import { PASSWORD, bearer, claimsOf, http, refresh, refreshCookieValue, registerAndLogin, startAuth, uniqueEmail, type HttpResult, type TestAuth } from '../helpers.js';
import { FORM, REDIRECT, form, openLoginForm, register, startFlow, startIssuer, submitLogin } from '../oauth-helpers.js';

/** The code an authenticator app shows `steps` periods from now (0: the current one). */
function codeAt(secret: string, steps = 0): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: Date.now() + steps * 30_000 });
}

const json = (res: HttpResult) => res.body as Record<string, unknown>;

async function enrol(base: string, accessToken: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await http(base, 'POST', '/auth/mfa/totp', { headers: bearer(accessToken) });
  if (started.status !== 200) throw new Error(`enrolment failed: ${started.status} ${started.text}`);
  const secret = json(started).secret as string;
  const confirmed = await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(accessToken), json: { code: codeAt(secret) } });
  if (confirmed.status !== 200) throw new Error(`confirm failed: ${confirmed.status} ${confirmed.text}`);
  return { secret, recoveryCodes: json(confirmed).recovery_codes as string[] };
}

async function mfaToken(base: string, email: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD, ...extra } });
  if (res.status !== 401 || json(res).error !== 'mfa_required') throw new Error(`expected mfa_required: ${res.status} ${res.text}`);
  return json(res).mfa_token as string;
}

test('TOTP second factor', async (t) => {
  // Every subtest signs in from 127.0.0.1: the per-IP limit has its own test below.
  const auth = await startIssuer(t, { RATE_LIMIT_LOGIN_PER_IP: '10000' });
  const { base, ctx } = auth;

  await t.test('enrolment: a pending secret, confirmed by a code, ten recovery codes', async (t) => {
    const user = await registerAndLogin(base);
    const started = await http(base, 'POST', '/auth/mfa/totp', { headers: bearer(user.accessToken) });
    t.equal(started.status, 200);
    t.equal(started.headers.get('cache-control'), 'no-store');
    const body = json(started);
    t.same(Object.keys(body).sort(), ['otpauth_uri', 'qr_svg', 'secret']);
    const secret = body.secret as string;
    t.match(secret, /^[A-Z2-7]{32}$/, '160 bits, base32');
    const uri = new URL(body.otpauth_uri as string);
    t.equal(uri.protocol, 'otpauth:');
    t.equal(uri.host, 'totp');
    t.equal(decodeURIComponent(uri.pathname), `/keygate:${user.email}`);
    t.match(Object.fromEntries(uri.searchParams), { secret, issuer: 'keygate', algorithm: 'SHA1', digits: '6', period: '30' });
    t.match(body.qr_svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\s*$/);
    const row = await ctx.db.selectFrom('auth.mfa_totp').selectAll().where('user_id', '=', user.userId).executeTakeFirstOrThrow();
    t.equal(row.confirmed_at, null, 'pending until confirmed');
    t.notOk(row.secret_sealed.includes(secret), 'the secret is stored sealed');

    const stillOneStep = await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } });
    t.equal(stillOneStep.status, 200, 'a pending factor does not change the login');

    const wrong = await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(user.accessToken), json: { code: codeAt(secret, 5) } });
    t.equal(wrong.status, 401);
    t.same(wrong.body, { error: 'invalid_code', error_description: 'The code is wrong, expired or already used.' });
    const notDigits = await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(user.accessToken), json: { code: 'abcdef' } });
    t.equal(notDigits.status, 401);
    t.equal((await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(user.accessToken), json: {} })).status, 400, 'schema: code required');
    t.equal((await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(user.accessToken), json: { code: '123456', extra: 1 } })).status, 400, 'schema: no extra members');

    const code = codeAt(secret);
    const confirmed = await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(user.accessToken), json: { code } });
    t.equal(confirmed.status, 200);
    const codes = json(confirmed).recovery_codes as string[];
    t.equal(codes.length, 10);
    t.equal(new Set(codes).size, 10);
    for (const c of codes) t.match(c, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    const stored = await ctx.db.selectFrom('auth.mfa_recovery_codes').selectAll().where('user_id', '=', user.userId).execute();
    t.equal(stored.length, 10);
    const sha = (c: string) => createHash('sha256').update(c.replace(/-/g, '')).digest('hex');
    t.same(stored.map((r) => Buffer.from(r.code_hash).toString('hex')).sort(), codes.map(sha).sort(), 'only their SHA-256 is stored');

    const again = await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(user.accessToken), json: { code } });
    t.equal(again.status, 409, 'nothing pending any more');
    t.equal(json(again).error, 'mfa_not_pending');
    const restart = await http(base, 'POST', '/auth/mfa/totp', { headers: bearer(user.accessToken) });
    t.equal(restart.status, 409, 'a confirmed factor is not replaced by a new enrolment');
    t.equal(json(restart).error, 'mfa_already_enabled');

    const events = await ctx.db.selectFrom('auth.audit_events').select(['event', 'details']).where('user_id', '=', user.userId).where('event', 'like', 'mfa_%').orderBy('id').execute();
    t.same(events.map((e) => e.event), ['mfa_failed', 'mfa_failed', 'mfa_enrolled']);
  });

  await t.test('two-step login with a TOTP code; amr kept across refreshes; the code works once', async (t) => {
    const user = await registerAndLogin(base);
    const { secret } = await enrol(base, user.accessToken);

    const wrongPassword = await http(base, 'POST', '/auth/login', { json: { email: user.email, password: 'not the password' } });
    t.same(wrongPassword.body, { error: 'invalid_credentials', error_description: 'The email or password is wrong.' }, 'no hint of a factor without the password');

    const first = await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } });
    t.equal(first.status, 401);
    t.same(Object.keys(json(first)).sort(), ['error', 'error_description', 'mfa_token']);
    t.equal(json(first).error, 'mfa_required');
    t.match(json(first).mfa_token, /^[A-Za-z0-9_-]{43}$/);
    t.equal(first.cookies.length, 0, 'no refresh cookie before the code');
    t.equal(first.headers.get('cache-control'), 'no-store');
    const token = json(first).mfa_token as string;
    const stored = await ctx.db.selectFrom('auth.mfa_login_tokens').selectAll().where('user_id', '=', user.userId).execute();
    t.equal(stored.length, 1);
    t.notOk(Buffer.from(stored[0]!.token_hash).equals(Buffer.from(token)), 'only its hash is stored');

    const wrong = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token, code: codeAt(secret, 4) } });
    t.equal(wrong.status, 401);
    t.equal(json(wrong).error, 'invalid_code');

    // The next period's code: confirming spent the current one.
    const code = codeAt(secret, 1);
    const done = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token, code } });
    t.equal(done.status, 200, 'a wrong code left the mfa_token usable');
    t.same(Object.keys(json(done)).sort(), ['access_token', 'expires_in', 'token_type']);
    const access = json(done).access_token as string;
    t.same(claimsOf(access).amr, ['pwd', 'otp']);
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(access) })).status, 200);
    const cookie = refreshCookieValue(done.cookies)!;
    t.ok(cookie);
    const refreshed = await refresh(base, cookie);
    t.equal(refreshed.status, 200);
    t.same(claimsOf(json(refreshed).access_token as string).amr, ['pwd', 'otp'], 'a refresh keeps amr');

    const reused = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token, code } });
    t.equal(reused.status, 400, 'the mfa_token is single use');
    t.same(reused.body, { error: 'invalid_token', error_description: 'The mfa_token is invalid, expired or already used; sign in again.' });

    const replay = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: await mfaToken(base, user.email), code } });
    t.equal(replay.status, 401, 'the same code within its window is refused');
    t.equal(json(replay).error, 'invalid_code');
    const failures = await ctx.db.selectFrom('auth.audit_events').select('details').where('user_id', '=', user.userId).where('event', '=', 'mfa_failed').execute();
    t.same(failures.map((f) => f.details), [{ stage: 'login' }, { stage: 'login' }]);
  });

  await t.test('a recovery code signs in once', async (t) => {
    const user = await registerAndLogin(base);
    const { recoveryCodes } = await enrol(base, user.accessToken);
    const typed = recoveryCodes[3]!.replace(/-/g, '').toUpperCase();
    const done = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: await mfaToken(base, user.email), code: typed } });
    t.equal(done.status, 200, 'any case, without dashes');
    t.same(claimsOf(json(done).access_token as string).amr, ['pwd', 'otp']);
    const second = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: await mfaToken(base, user.email), code: recoveryCodes[3]! } });
    t.equal(second.status, 401, 'a used recovery code is refused');
    t.equal(json(second).error, 'invalid_code');
    const other = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: await mfaToken(base, user.email), code: recoveryCodes[4]! } });
    t.equal(other.status, 200, 'the others still work');
    const used = await ctx.db.selectFrom('auth.audit_events').select('details').where('user_id', '=', user.userId).where('event', '=', 'mfa_recovery_code_used').orderBy('id').execute();
    t.same(used.map((u) => u.details), [{ remaining: 9 }, { remaining: 8 }]);
  });

  await t.test('mfa_token: unknown, malformed and expired tokens get invalid_token', async (t) => {
    const user = await registerAndLogin(base);
    const { secret } = await enrol(base, user.accessToken);
    const token = await mfaToken(base, user.email);
    await ctx.db.updateTable('auth.mfa_login_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', user.userId).execute();
    const expired = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token, code: codeAt(secret, 1) } });
    t.equal(expired.status, 400);
    t.equal(json(expired).error, 'invalid_token');
    for (const bad of ['x', 'A'.repeat(43), 'A'.repeat(128)]) {
      const res = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: bad, code: '123456' } });
      t.equal(res.status, 400, bad.slice(0, 5));
      t.equal(json(res).error, 'invalid_token');
    }
    t.equal((await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token } })).status, 400, 'schema: code required');
    t.equal((await http(base, 'POST', '/auth/login/mfa', { body: 'mfa_token=x&code=1', headers: { 'content-type': 'text/plain' } })).status, 415);
  });

  await t.test('wrong codes count against the per-account login limit: brute force gets 429', async (t) => {
    const user = await registerAndLogin(base);
    const { secret } = await enrol(base, user.accessToken);
    // A fresh minute's counter for this account: registerAndLogin + mfaToken spent two of ten.
    const token = await mfaToken(base, user.email);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const guess = String(100000 + i);
      statuses.push((await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token, code: guess === codeAt(secret) ? '000000' : guess } })).status);
    }
    t.ok(statuses.slice(0, 7).every((s) => s === 401), `guesses refused: ${statuses.join(',')}`);
    t.equal(statuses.at(-1), 429, 'then rate limited');
    const limited = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token, code: codeAt(secret, 1) } });
    t.equal(limited.status, 429, 'even the right code waits out the limit');
    t.ok(Number(limited.headers.get('retry-after')) >= 1);
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } })).status, 429, 'the same counter as the password');
  });

  await t.test('remember me: Max-Age only when asked, kept by refreshes', async (t) => {
    const email = uniqueEmail();
    await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
    const remembered = await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD, remember: true } });
    t.match(remembered.cookies[0], /^refresh_token=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/auth; HttpOnly; Secure; SameSite=Strict$/);
    const rotated = await refresh(base, refreshCookieValue(remembered.cookies)!);
    t.match(rotated.cookies[0], /^refresh_token=[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/auth; HttpOnly; Secure; SameSite=Strict$/, 'a refresh keeps a persistent cookie');

    for (const body of [{ email, password: PASSWORD }, { email, password: PASSWORD, remember: false }]) {
      const session = await http(base, 'POST', '/auth/login', { json: body });
      t.equal(session.status, 200);
      t.match(session.cookies[0], /^refresh_token=[A-Za-z0-9_-]{43}; Path=\/auth; HttpOnly; Secure; SameSite=Strict$/, 'no Max-Age, no Expires');
      const next = await refresh(base, refreshCookieValue(session.cookies)!);
      t.match(next.cookies[0], /^refresh_token=[A-Za-z0-9_-]{43}; Path=\/auth; HttpOnly; Secure; SameSite=Strict$/, 'a refresh keeps a session cookie');
    }
    const sessions = await ctx.db.selectFrom('auth.sessions').innerJoin('auth.users', 'auth.users.id', 'auth.sessions.user_id').select(['remember', 'idle_expires_at', 'absolute_expires_at']).where('auth.users.email', '=', email).orderBy('auth.sessions.created_at').execute();
    t.same(sessions.map((s) => s.remember), [true, false, false]);
    const lifetimes = sessions.map((s) => s.absolute_expires_at.getTime() - s.idle_expires_at.getTime());
    t.ok(Math.max(...lifetimes) - Math.min(...lifetimes) < 60_000, 'the server-side lifetimes are the same either way');
    t.equal((await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD, remember: 'yes' } })).status, 400, 'schema: a boolean');

    const user = await registerAndLogin(base);
    const { secret } = await enrol(base, user.accessToken);
    const viaCode = await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: await mfaToken(base, user.email, { remember: true }), code: codeAt(secret, 1) } });
    t.match(viaCode.cookies[0], /; Max-Age=604800; /, 'the choice survives the second step');
  });

  await t.test('DELETE /auth/mfa needs the password', async (t) => {
    const user = await registerAndLogin(base);
    await enrol(base, user.accessToken);
    const wrong = await http(base, 'DELETE', '/auth/mfa', { headers: bearer(user.accessToken), json: { password: 'not the password' } });
    t.equal(wrong.status, 403);
    t.equal(json(wrong).error, 'invalid_credentials');
    t.equal((await http(base, 'DELETE', '/auth/mfa', { headers: bearer(user.accessToken), json: {} })).status, 400);
    const removed = await http(base, 'DELETE', '/auth/mfa', { headers: bearer(user.accessToken), json: { password: PASSWORD } });
    t.equal(removed.status, 204);
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } })).status, 200, 'one step again');
    t.equal((await ctx.db.selectFrom('auth.mfa_recovery_codes').select('user_id').where('user_id', '=', user.userId).execute()).length, 0, 'recovery codes gone');
    const again = await http(base, 'DELETE', '/auth/mfa', { headers: bearer(user.accessToken), json: { password: PASSWORD } });
    t.equal(again.status, 404);
    const events = await ctx.db.selectFrom('auth.audit_events').select(['event', 'details']).where('user_id', '=', user.userId).where('event', '=', 'mfa_removed').execute();
    t.same(events.map((e) => e.details), [{ by: 'user' }]);
    t.ok((await enrol(base, user.accessToken)).secret, 'and may enrol again');
  });

  await t.test('the password grant refuses an account with a second factor, after the password', async (t) => {
    const user = await registerAndLogin(base);
    await enrol(base, user.accessToken);
    const grant = (password: string) => http(base, 'POST', '/oauth/token', { headers: FORM, body: form({ grant_type: 'password', client_id: 'keygate-web', username: user.email, password }) });
    const wrong = await grant('not the password');
    t.equal(wrong.status, 400);
    t.same(json(wrong), { error: 'invalid_grant', error_description: 'The username or password is wrong.' });
    const right = await grant(PASSWORD);
    t.equal(right.status, 400);
    t.equal(json(right).error, 'invalid_grant');
    t.match(json(right).error_description, /^mfa_required: /);
  });

  await t.test('the /oauth/authorize sign-in form asks for the code after the password', async (t) => {
    const user = await registerAndLogin(base);
    const { secret } = await enrol(base, user.accessToken);
    const app = await register(auth, { name: 'spa', grants: ['authorization_code', 'refresh_token'], public: true, firstParty: true, redirectUris: [REDIRECT], scopes: ['orders:read'] });
    const flow = await startFlow(auth, app, 'none');
    const page = await openLoginForm(flow.url);
    t.equal(page.status, 200);
    const step = await submitLogin(auth, page, user.email, PASSWORD);
    t.equal(step.status, 200, 'no code for the password alone: the code page');
    t.equal(step.headers.get('location'), null);
    const html = await step.text();
    t.match(html, /<form method="post" action="\/oauth\/authorize\/mfa">/);
    t.match(html, /<label for="code">Authentication code/);
    const mfaToken = /name="mfa_token" value="([^"]+)"/.exec(html)![1]!;
    const post = (code: string, extra: Record<string, string> = {}) =>
      fetch(`${base}/oauth/authorize/mfa`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie: page.cookie, ...extra }, body: form({ request: page.request, mfa_token: mfaToken, code }) });

    const crossSite = await post(codeAt(secret, 1), { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    t.equal(crossSite.status, 403, 'a cross-site post is refused');
    const withoutCookie = await fetch(`${base}/oauth/authorize/mfa`, { method: 'POST', redirect: 'manual', headers: FORM, body: form({ request: page.request, mfa_token: mfaToken, code: codeAt(secret, 1) }) });
    t.equal(withoutCookie.status, 400, 'the form is bound to the browser that opened it');
    const wrong = await post(codeAt(secret, 6));
    t.equal(wrong.status, 400);
    t.match(await wrong.text(), /role="alert" id="code-error">The code is wrong/);
    const right = await post(codeAt(secret, 1));
    t.equal(right.status, 303, 'the right code: redirected with the authorization code');
    const landed = new URL(right.headers.get('location')!);
    const tokens = await client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    t.same(claimsOf(tokens.access_token).amr, ['pwd', 'otp'], 'the session carries amr pwd + otp');
    const refreshed = await client.refreshTokenGrant(flow.config, tokens.refresh_token!);
    t.same(claimsOf(refreshed.access_token).amr, ['pwd', 'otp'], 'and keeps it across refreshes');
    const again = await post(codeAt(secret, 1));
    t.equal(again.status, 400, 'the mfa_token was spent');
    t.match(await again.text(), /took too long or was already used/);

    const plain = await registerAndLogin(base);
    const other = await startFlow(auth, app, 'none');
    const direct = await submitLogin(auth, await openLoginForm(other.url), plain.email, PASSWORD);
    t.equal(direct.status, 303, 'an account without a factor signs in with the password alone');
    const plainTokens = await client.authorizationCodeGrant(other.config, new URL(direct.headers.get('location')!), { pkceCodeVerifier: other.verifier, expectedState: other.state });
    t.same(claimsOf(plainTokens.access_token).amr, ['pwd']);
  });

  await t.test('who may not call the second-factor and deletion endpoints', async (t) => {
    const user = await registerAndLogin(base);
    const thirdParty = await register(auth, { name: 'third-party app', grants: ['authorization_code'], public: true, redirectUris: ['http://localhost:4000/callback'], scopes: ['orders:read'] });
    const { session } = await startSession(ctx, { id: user.userId }, thirdParty.id, { ip: null, userAgent: null }, { scope: 'orders:read' });
    const lent = await issueAccessToken(ctx, { sub: user.userId, role: 'user', clientId: thirdParty.id, sid: session.id, scope: 'orders:read' });
    const calls: [string, string, unknown][] = [
      ['POST', '/auth/mfa/totp', undefined],
      ['POST', '/auth/mfa/totp/confirm', { code: '123456' }],
      ['DELETE', '/auth/mfa', { password: PASSWORD }],
      ['DELETE', '/auth/me', { password: PASSWORD }],
    ];
    for (const [method, path, body] of calls) {
      const anonymous = await http(base, method, path, body === undefined ? {} : { json: body });
      t.equal(anonymous.status, 401, `${method} ${path} without a token`);
      t.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
      const scoped = await http(base, method, path, { headers: bearer(lent.access_token), ...(body === undefined ? {} : { json: body }) });
      t.equal(scoped.status, 403, `${method} ${path} with a third-party token`);
      t.equal(json(scoped).error, 'insufficient_scope');
      t.equal(scoped.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="account"');
    }
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 200, 'the account is untouched');
    t.equal((await ctx.db.selectFrom('auth.mfa_totp').select('user_id').where('user_id', '=', user.userId).execute()).length, 0, 'no factor was started');
  });
});

test('code attempts count against the per-IP login limit', async (t) => {
  const auth: TestAuth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_IP: '6', RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000' });
  const { base } = auth;
  const user = await registerAndLogin(base);
  const { secret } = await enrol(base, user.accessToken);
  const token = await mfaToken(base, user.email);
  // Spent so far from this address: one login, one confirm, one login (3 of 6).
  const statuses: number[] = [];
  for (let i = 0; i < 4; i += 1) statuses.push((await http(base, 'POST', '/auth/login/mfa', { json: { mfa_token: token, code: codeAt(secret, 7) } })).status);
  t.same(statuses, [401, 401, 401, 429]);
});
