import { test } from 'tap';
import { createHash } from 'node:crypto';
import { scrapeMetrics } from '@keygate/testing';
import { PASSWORD, bearer, claimsOf, http, login, refresh, refreshCookieValue, registerAndLogin, startAuth, uniqueEmail } from '../helpers.js';

test('register, login, me, password change over HTTP', async (t) => {
  const auth = await startAuth(t);
  const { base } = auth;

  await t.test('register: 201 with a normalised email; 409 email_taken for the same email in another form', async (t) => {
    const res = await http(base, 'POST', '/auth/register', { json: { email: '  Ann.Example@EXAMPLE.com ', password: PASSWORD } });
    t.equal(res.status, 201);
    t.match(res.body, { id: /^[0-9a-f-]{36}$/, email: 'ann.example@example.com', role: 'user' });
    t.same(Object.keys(res.body as object).sort(), ['email', 'id', 'role']);
    const again = await http(base, 'POST', '/auth/register', { json: { email: 'ann.example@example.com', password: PASSWORD } });
    t.equal(again.status, 409);
    t.same(again.body, { error: 'email_taken', error_description: 'An account with this email already exists.' });
    // NFC: "é" composed vs decomposed is the same account.
    const composed = await http(base, 'POST', '/auth/register', { json: { email: 'ren\u00e9@example.com', password: PASSWORD } });
    const decomposed = await http(base, 'POST', '/auth/register', { json: { email: 'RENE\u0301@example.com', password: PASSWORD } });
    t.equal(composed.status, 201);
    t.equal(decomposed.status, 409);
  });

  await t.test('register rejects bad input: 400 short/long password, bad email, extra keys; 415 wrong content type; __proto__ harmless', async (t) => {
    for (const json of [
      { email: uniqueEmail(), password: 'short' },
      { email: uniqueEmail(), password: 'x'.repeat(257) },
      { email: 'not-an-email', password: PASSWORD },
      { email: uniqueEmail(), password: PASSWORD, role: 'admin' },
      { email: uniqueEmail() },
    ]) {
      const res = await http(base, 'POST', '/auth/register', { json });
      t.equal(res.status, 400, JSON.stringify(json));
      t.match(res.body, { error: 'invalid_request', error_description: String });
    }
    const plain = await http(base, 'POST', '/auth/register', { body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD }), headers: { 'content-type': 'text/plain' } });
    t.equal(plain.status, 415);
    t.equal((plain.body as { error: string }).error, 'unsupported_media_type');
    const form = await http(base, 'POST', '/auth/register', { body: 'email=a%40b.c&password=12345678', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    t.equal(form.status, 415);
    const proto = await http(base, 'POST', '/auth/register', { body: `{"email":"${uniqueEmail()}","password":"${PASSWORD}","__proto__":{"role":"admin"}}`, headers: { 'content-type': 'application/json' } });
    t.equal(proto.status, 400);
    t.equal((proto.body as { error: string }).error, 'invalid_request');
    const ctor = await http(base, 'POST', '/auth/register', { body: `{"email":"${uniqueEmail()}","password":"${PASSWORD}","constructor":{"prototype":{"role":"admin"}}}`, headers: { 'content-type': 'application/json' } });
    t.equal(ctor.status, 400);
    t.equal(({} as Record<string, unknown>).role, undefined, 'Object.prototype untouched');
    const big = await http(base, 'POST', '/auth/register', { json: { email: uniqueEmail(), password: PASSWORD, pad: 'x'.repeat(20_000) } });
    t.equal(big.status, 413);
    t.same(big.body, { error: 'payload_too_large', error_description: 'The request body is too large.' });
  });

  await t.test('login: 200 with token and the exact refresh cookie; claims as the contract says', async (t) => {
    const email = uniqueEmail();
    await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
    const res = await http(base, 'POST', '/auth/login', { json: { email: email.toUpperCase(), password: PASSWORD } });
    t.equal(res.status, 200);
    t.same(Object.keys(res.body as object).sort(), ['access_token', 'expires_in', 'token_type']);
    t.match(res.body, { token_type: 'Bearer', expires_in: 900 });
    t.equal(res.headers.get('cache-control'), 'no-store');
    t.equal(res.cookies.length, 1);
    // No `remember`: a browser-session cookie, without Max-Age or Expires (contract, "Remember me").
    t.match(res.cookies[0], /^refresh_token=[A-Za-z0-9_-]{43}; Path=\/auth; HttpOnly; Secure; SameSite=Strict$/);
    const token = (res.body as { access_token: string }).access_token;
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    t.same(Object.keys(header).sort(), ['alg', 'kid', 'typ']);
    t.match(header, { alg: 'RS256', typ: 'at+jwt', kid: String });
    const claims = claimsOf(token);
    t.same(Object.keys(claims).sort(), ['amr', 'aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'role', 'scope', 'sid', 'sub']);
    t.same(claims.amr, ['pwd'], 'a password sign-in (RFC 8176)');
    t.match(claims, { iss: 'http://localhost:8080', aud: 'api', role: 'user', client_id: 'keygate-web', sid: String, sub: String });
    t.equal(claims.scope, 'account orders:read orders:write notifications:read notifications:write', 'the first-party scope, without admin for a user');
    t.equal((claims.exp as number) - (claims.iat as number), 900);
    t.notOk(JSON.stringify(claims).includes(email), 'no email in the token');
  });

  await t.test('login writes the session, its one live refresh token and one login_success audit row (one statement)', async (t) => {
    const email = uniqueEmail();
    await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
    const res = await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD }, headers: { 'user-agent': 'login-test/1.0' } });
    t.equal(res.status, 200);
    const sessionId = claimsOf((res.body as { access_token: string }).access_token).sid as string;
    const session = await auth.ctx.db.selectFrom('auth.sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
    t.match(session, { client_id: 'keygate-web', user_agent: 'login-test/1.0', revoked_at: null, scope: 'account orders:read orders:write notifications:read notifications:write' });
    t.equal(session.absolute_expires_at.getTime() - session.created_at.getTime(), 30 * 86_400_000, 'absolute expiry SESSION_MAX_AGE after creation');
    t.equal(session.idle_expires_at.getTime() - session.created_at.getTime(), 7 * 86_400_000, 'idle expiry REFRESH_TOKEN_TTL after creation');
    const tokens = await auth.ctx.db.selectFrom('auth.refresh_tokens').selectAll().where('session_id', '=', sessionId).execute();
    t.equal(tokens.length, 1);
    const cookieToken = refreshCookieValue(res.cookies)!;
    t.same(tokens[0]!.token_hash, createHash('sha256').update(cookieToken).digest(), 'only the SHA-256 of the cookie is stored');
    t.match(tokens[0], { parent_hash: null, spent_at: null, successor_hash: null });
    const audit = await auth.ctx.db.selectFrom('auth.audit_events').selectAll().where('session_id', '=', sessionId).execute();
    t.equal(audit.length, 1);
    t.match(audit[0], { event: 'login_success', user_id: session.user_id, user_agent: 'login-test/1.0', ip: '127.0.0.1', details: {} });
  });

  await t.test('login failures: the same 401 body for a wrong password and an unknown email', async (t) => {
    const email = uniqueEmail();
    await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
    const wrong = await http(base, 'POST', '/auth/login', { json: { email, password: 'wrong password' } });
    const unknown = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('nobody'), password: 'wrong password' } });
    t.equal(wrong.status, 401);
    t.equal(unknown.status, 401);
    t.same(wrong.body, { error: 'invalid_credentials', error_description: 'The email or password is wrong.' });
    t.same(unknown.body, wrong.body);
    t.same(wrong.cookies, []);
    t.same(unknown.cookies, []);
    const missing = await http(base, 'POST', '/auth/login', { json: { email } });
    t.equal(missing.status, 400);
    const rows = await auth.ctx.db.selectFrom('auth.audit_events').select(['event', 'user_id', 'details']).where('event', '=', 'login_failure').execute();
    t.ok(rows.some((r) => r.user_id !== null && (r.details as { reason: string }).reason === 'wrong_password'));
    t.ok(rows.some((r) => r.user_id === null && (r.details as { reason: string }).reason === 'unknown_email'));
    t.notOk(JSON.stringify(rows).includes('wrong password'), 'no password in the audit log');
  });

  await t.test('login for an unknown email runs a real argon2id verification (dummy hash)', async (t) => {
    // Equal work, not a timing assertion: the unknown-email path must call verify on an argon2id hash.
    t.match(await auth.ctx.passwords.dummyHash(), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  await t.test('me: 200 with the caller; 401 without, with a malformed or a tampered token', async (t) => {
    const user = await registerAndLogin(base);
    const me = await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) });
    t.equal(me.status, 200);
    t.same(Object.keys(me.body as object).sort(), ['created_at', 'email', 'email_verified', 'id', 'role']);
    t.match(me.body, { id: user.userId, email: user.email, role: 'user', email_verified: false });
    const none = await http(base, 'GET', '/auth/me');
    t.equal(none.status, 401);
    t.equal(none.headers.get('www-authenticate'), 'Bearer');
    t.same(none.body, { error: 'unauthorized', error_description: 'A Bearer access token is required.' });
    const basic = await http(base, 'GET', '/auth/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    t.equal(basic.status, 401);
    const [h, p, s] = user.accessToken.split('.');
    const forged = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>;
    forged.role = 'admin';
    const tampered = await http(base, 'GET', '/auth/me', { headers: bearer(`${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${s}`) });
    t.equal(tampered.status, 401);
    t.equal(tampered.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    t.same(tampered.body, { error: 'invalid_token', error_description: 'The access token is invalid, expired or revoked.' });
    const none256 = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${p}.`;
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(none256) })).status, 401);
    const inQuery = await http(base, 'GET', `/auth/me?access_token=${user.accessToken}`);
    t.equal(inQuery.status, 400, 'a token in the URL is never accepted: unknown query parameters are refused');
    t.equal((inQuery.body as { error: string }).error, 'invalid_request');
    const both = await http(base, 'GET', `/auth/me?access_token=${user.accessToken}`, { headers: bearer(user.accessToken) });
    t.equal(both.status, 400, 'even beside a valid header');
  });

  await t.test('metrics count logins by outcome on the operations listener, never on the public port', async (t) => {
    const hidden = await http(base, 'GET', '/metrics');
    t.equal(hidden.status, 404);
    t.same(hidden.body, { error: 'not_found', error_description: 'No route for GET /metrics.' });
    const text = await scrapeMetrics(auth.app);
    t.match(text, /auth_logins_total\{outcome="success",service="auth"\} [1-9]/);
    t.match(text, /auth_logins_total\{outcome="invalid_credentials",service="auth"\} [1-9]/);
    t.match(text, /auth_password_hashes_active\{service="auth"\} 0\n/, 'no hash running between requests');
    t.match(text, /auth_password_hashes_queued\{service="auth"\} 0\n/);
    t.match(text, /auth_redis_connected\{service="auth"\} 1\n/, 'the bus is connected (its Redis, or the in-memory bus)');
  });

  await t.test('password change: 204; other sessions revoked, the current one kept; old password refused', async (t) => {
    const user = await registerAndLogin(base);
    const other = await login(base, user.email);
    const wrong = await http(base, 'POST', '/auth/password', { json: { current_password: 'not it at all', new_password: 'a brand new one' }, headers: bearer(user.accessToken) });
    t.equal(wrong.status, 403);
    t.same(wrong.body, { error: 'invalid_credentials', error_description: 'The current password is wrong.' });
    const short = await http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: 'short' }, headers: bearer(user.accessToken) });
    t.equal(short.status, 400);
    const anonymous = await http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: 'a brand new one' } });
    t.equal(anonymous.status, 401);

    const ok = await http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: 'a brand new one' }, headers: bearer(user.accessToken) });
    t.equal(ok.status, 204);
    t.equal(ok.text, '');
    const otherRefresh = await refresh(base, other.refreshToken);
    t.equal(otherRefresh.status, 401, 'refresh of another session after password change');
    t.same(otherRefresh.body, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(other.accessToken) })).status, 401, "the other session's access token is refused");
    const mine = await refresh(base, user.refreshToken);
    t.equal(mine.status, 200, 'the session that changed the password stays');
    t.ok(refreshCookieValue(mine.cookies));
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } })).status, 401);
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: 'a brand new one' } })).status, 200);
    const audit = await auth.ctx.db.selectFrom('auth.audit_events').selectAll().where('event', '=', 'password_change').where('user_id', '=', user.userId).execute();
    t.equal(audit.length, 1);
  });

  await t.test('password change to the current password: 400 password_reused, nothing changes; a wrong current password is still 403', async (t) => {
    const user = await registerAndLogin(base);
    const other = await login(base, user.email);
    const before = await auth.ctx.db.selectFrom('auth.users').select('password_hash').where('id', '=', user.userId).executeTakeFirstOrThrow();
    const reused = await http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: PASSWORD }, headers: bearer(user.accessToken) });
    t.equal(reused.status, 400);
    t.same(reused.body, { error: 'password_reused', error_description: 'The new password must differ from the current one.' });
    t.equal(reused.headers.get('cache-control'), 'no-store');
    const after = await auth.ctx.db.selectFrom('auth.users').select('password_hash').where('id', '=', user.userId).executeTakeFirstOrThrow();
    t.equal(after.password_hash, before.password_hash, 'the stored hash is untouched');
    t.equal((await refresh(base, other.refreshToken)).status, 200, 'no session was revoked');
    const guess = await http(base, 'POST', '/auth/password', { json: { current_password: 'a wrong guess', new_password: 'a wrong guess' }, headers: bearer(user.accessToken) });
    t.equal(guess.status, 403, 'equal strings that are not the current password reveal nothing new');
    const audit = await auth.ctx.db.selectFrom('auth.audit_events').selectAll().where('event', '=', 'password_change').where('user_id', '=', user.userId).execute();
    t.equal(audit.length, 0);
  });
});
