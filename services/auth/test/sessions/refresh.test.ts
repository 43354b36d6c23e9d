import { test } from 'tap';
import { sql } from 'kysely';
import { hashRefreshToken } from '../../src/sessions/refresh-token-values.js';
import { bearer, claimsOf, cookieHeader, http, refresh, refreshCookieValue, registerAndLogin, startAuth, waitFor } from '../helpers.js';

test('refresh-token rotation over HTTP', async (t) => {
  const auth = await startAuth(t, { ALLOWED_ORIGINS: 'https://app.example.com' });
  const { base, ctx } = auth;
  const db = ctx.db;

  const revocations: string[] = [];
  const unsubscribe = await ctx.bus.subscribe('revocations', (message) => revocations.push(message));
  t.teardown(unsubscribe);

  async function sessionOf(refreshToken: string) {
    const row = await db.selectFrom('auth.refresh_tokens').select('session_id').where('token_hash', '=', hashRefreshToken(refreshToken)).executeTakeFirstOrThrow();
    return db.selectFrom('auth.sessions').selectAll().where('id', '=', row.session_id).executeTakeFirstOrThrow();
  }

  await t.test('a refresh spends the token and issues a successor in the same session', async (t) => {
    const user = await registerAndLogin(base);
    const before = await sessionOf(user.refreshToken);
    const res = await refresh(base, user.refreshToken);
    t.equal(res.status, 200);
    t.same(Object.keys(res.body as object).sort(), ['access_token', 'expires_in', 'token_type']);
    t.equal(res.headers.get('cache-control'), 'no-store');
    // Logged in without remember: the rotated cookie is a session cookie too (no Max-Age, no Expires).
    t.match(res.cookies[0], /^refresh_token=[A-Za-z0-9_-]{43}; Path=\/auth; HttpOnly; Secure; SameSite=Strict$/);
    const successor = refreshCookieValue(res.cookies)!;
    t.not(successor, user.refreshToken);
    const access = (res.body as { access_token: string }).access_token;
    t.equal(claimsOf(access).sid, before.id, 'same session');
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(access) })).status, 200);
    const after = await sessionOf(successor);
    t.equal(after.id, before.id);
    t.same(after.absolute_expires_at, before.absolute_expires_at, 'the absolute expiry never moves');
    t.ok(after.idle_expires_at.getTime() <= after.absolute_expires_at.getTime());
    const stored = await db.selectFrom('auth.refresh_tokens').selectAll().where('session_id', '=', before.id).execute();
    t.equal(stored.length, 2);
    t.notOk(JSON.stringify(stored).includes(successor), 'only hashes are stored');
  });

  await t.test('50 concurrent refreshes with one token: one successor, the user stays logged in', async (t) => {
    const user = await registerAndLogin(base);
    const results = await Promise.all(Array.from({ length: 50 }, () => refresh(base, user.refreshToken)));
    t.same(results.map((r) => r.status), Array(50).fill(200), 'every duplicate within grace is answered');
    const successors = new Set(results.map((r) => refreshCookieValue(r.cookies)));
    t.equal(successors.size, 1, 'exactly one successor token handed out');
    const session = await sessionOf(user.refreshToken);
    t.equal(session.revoked_at, null, 'not logged out');
    const chain = await db.selectFrom('auth.refresh_tokens').selectAll().where('session_id', '=', session.id).execute();
    t.equal(chain.length, 2, 'exactly one successor row');
    t.equal(chain.filter((row) => row.spent_at === null).length, 1, 'one live token');
    const next = await refresh(base, [...successors][0]!);
    t.equal(next.status, 200, 'the successor works');
    const reuseAudit = await db.selectFrom('auth.audit_events').select('id').where('session_id', '=', session.id).where('event', '=', 'refresh_reuse_detected').execute();
    t.equal(reuseAudit.length, 0);
  });

  await t.test('within grace the predecessor gets the same successor; once the successor is used, it is theft', async (t) => {
    const user = await registerAndLogin(base);
    const first = refreshCookieValue((await refresh(base, user.refreshToken)).cookies)!;
    const retry = await refresh(base, user.refreshToken);
    t.equal(retry.status, 200);
    t.equal(refreshCookieValue(retry.cookies), first, 'idempotent retry: the same successor');
    const second = refreshCookieValue((await refresh(base, first)).cookies)!;
    t.ok(second);
    const replay = await refresh(base, user.refreshToken);
    t.equal(replay.status, 401, 'the grace window closed when the successor was used');
    t.same(replay.body, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
    t.equal((await refresh(base, second)).status, 401, 'every later token of the session is revoked too');
  });

  await t.test('a spent token replayed after the grace window revokes the session, writes audit, publishes', async (t) => {
    const user = await registerAndLogin(base);
    const res = await refresh(base, user.refreshToken);
    const successor = refreshCookieValue(res.cookies)!;
    const session = await sessionOf(successor);
    // Past REFRESH_GRACE (10 s) without waiting: move the spend back in time.
    await sql`update auth.refresh_tokens set spent_at = spent_at - interval '11 seconds' where session_id = ${session.id} and spent_at is not null`.execute(db);
    const replay = await refresh(base, user.refreshToken);
    t.equal(replay.status, 401);
    t.same(replay.body, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
    t.match(replay.cookies[0], /^refresh_token=; Max-Age=0; Path=\/auth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/, 'cookie cleared');
    const revoked = await db.selectFrom('auth.sessions').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow();
    t.not(revoked.revoked_at, null);
    t.equal(revoked.revoked_reason, 'refresh_token_reuse');
    const audit = await db.selectFrom('auth.audit_events').selectAll().where('session_id', '=', session.id).where('event', '=', 'refresh_reuse_detected').execute();
    t.equal(audit.length, 1);
    t.equal(audit[0]!.user_id, user.userId);
    t.equal((await refresh(base, successor)).status, 401, 'the thief-or-victim successor is dead too');
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 401, 'the access token of the session is refused');
    await waitFor(() => revocations.some((m) => m.includes(session.id)));
    const message = revocations.map((m) => JSON.parse(m) as { type: string; id: string; until: number }).find((m) => m.id === session.id);
    t.match(message, { type: 'session', id: session.id, until: Number });
    t.ok(message!.until > Date.now() + 900_000, 'until covers the access-token lifetime plus skew');
    const listed = await ctx.bus.listExpiring('revoked');
    t.ok(listed.some((m) => m.member === `session:${session.id}`), 'in the expiring set for late gateways');
  });

  await t.test('the sealed successor lives only for the grace window', async (t) => {
    const { purgeSealedSuccessors } = await import('../../src/sessions/refresh-tokens.repository.js');
    const user = await registerAndLogin(base);
    const first = refreshCookieValue((await refresh(base, user.refreshToken)).cookies)!;
    const sealedOf = async (token: string) =>
      (await db.selectFrom('auth.refresh_tokens').select('successor_sealed').where('token_hash', '=', hashRefreshToken(token)).executeTakeFirstOrThrow()).successor_sealed;
    t.match(await sealedOf(user.refreshToken), /^v1\./, 'sealed while the grace window is open');
    t.notOk((await sealedOf(user.refreshToken))!.includes(first), 'not the token in clear');
    await refresh(base, first);
    t.equal(await sealedOf(user.refreshToken), null, 'cleared as soon as the successor is used');
    const second = await refresh(base, user.refreshToken);
    t.equal(second.status, 401, 'and the predecessor no longer gets anything back');
    t.equal(refreshCookieValue(second.cookies), '', 'only a cleared cookie');
    const other = await registerAndLogin(base);
    await refresh(base, other.refreshToken);
    await purgeSealedSuccessors(db, 10);
    t.match(await sealedOf(other.refreshToken), /^v1\./, 'the sweep keeps what is still within the window');
    await sql`update auth.refresh_tokens set spent_at = spent_at - interval '11 seconds' where token_hash = ${hashRefreshToken(other.refreshToken)}`.execute(db);
    t.ok((await purgeSealedSuccessors(db, 10)) >= 1);
    t.equal(await sealedOf(other.refreshToken), null, 'the periodic sweep clears it after the window');
  });

  await t.test('refresh is 401 after logout, after idle expiry, after absolute expiry, for unknown or malformed tokens', async (t) => {
    const a = await registerAndLogin(base);
    t.equal((await http(base, 'POST', '/auth/logout', { headers: { cookie: `refresh_token=${a.refreshToken}` } })).status, 204);
    t.equal((await refresh(base, a.refreshToken)).status, 401, 'after logout');

    const b = await registerAndLogin(base);
    const sb = await sessionOf(b.refreshToken);
    await sql`update auth.sessions set idle_expires_at = now() - interval '1 second' where id = ${sb.id}`.execute(db);
    t.equal((await refresh(base, b.refreshToken)).status, 401, 'after idle expiry');

    const c = await registerAndLogin(base);
    const sc = await sessionOf(c.refreshToken);
    await sql`update auth.sessions set absolute_expires_at = now() + interval '2 seconds', idle_expires_at = now() + interval '2 seconds' where id = ${sc.id}`.execute(db);
    const ok = await refresh(base, c.refreshToken);
    t.equal(ok.status, 200);
    const after = await sessionOf(c.refreshToken);
    t.ok(after.idle_expires_at.getTime() <= after.absolute_expires_at.getTime(), 'rotation does not slide past the absolute expiry');
    await sql`update auth.sessions set absolute_expires_at = now() - interval '1 second', idle_expires_at = now() - interval '1 second' where id = ${sc.id}`.execute(db);
    t.equal((await refresh(base, refreshCookieValue(ok.cookies)!)).status, 401, 'after absolute expiry');

    const unknown = await refresh(base, 'A'.repeat(43));
    t.equal(unknown.status, 401);
    t.same(unknown.body, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
    t.equal((await refresh(base, 'not a token')).status, 401);
    const none = await http(base, 'POST', '/auth/refresh');
    t.equal(none.status, 401);
    t.same(none.body, { error: 'invalid_grant', error_description: 'No refresh token was sent: the refresh_token cookie is missing.' }, 'no cookie at all says so');
  });

  await t.test('refresh and logout take an empty body of any content type (axios, fetch)', async (t) => {
    const user = await registerAndLogin(base);
    let token = user.refreshToken;
    // axios.post(url) sends an empty form body; fetch with a JSON content type and no body sends none.
    for (const contentType of ['application/x-www-form-urlencoded', 'application/json', 'text/plain;charset=UTF-8', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
      const res = await http(base, 'POST', '/auth/refresh', { headers: { ...cookieHeader(token), 'content-type': contentType }, body: '' });
      t.equal(res.status, 200, contentType);
      token = refreshCookieValue(res.cookies)!;
    }
    const withJson = await http(base, 'POST', '/auth/refresh', { headers: cookieHeader(token), json: {} });
    t.equal(withJson.status, 200, 'a body, when sent, is ignored');
    token = refreshCookieValue(withJson.cookies)!;
    const huge = await http(base, 'POST', '/auth/refresh', { headers: { ...cookieHeader(token), 'content-type': 'application/json' }, body: 'x'.repeat(10_000) });
    t.equal(huge.status, 413, 'but not read without bound');
    t.equal((huge.body as { error: string }).error, 'payload_too_large');
    const evil = await http(base, 'POST', '/auth/refresh', { headers: { ...cookieHeader(token), 'content-type': 'text/plain', origin: 'https://evil.example' }, body: 'x' });
    t.equal(evil.status, 403, 'the Origin check still applies to any content type');
    const logout = await http(base, 'POST', '/auth/logout', { headers: { ...cookieHeader(token), 'content-type': 'application/json' }, body: '' });
    t.equal(logout.status, 204);
    t.equal((await refresh(base, token)).status, 401, 'the session ended');
    const bare = await http(base, 'POST', '/auth/logout', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    t.equal(bare.status, 401, 'logout without cookie or token is still 401');
  });

  await t.test('cross-origin refresh is 403; the gateway origin and ALLOWED_ORIGINS pass', async (t) => {
    const user = await registerAndLogin(base);
    const evil = await refresh(base, user.refreshToken, { origin: 'https://evil.example' });
    t.equal(evil.status, 403);
    t.same(evil.body, { error: 'invalid_origin', error_description: 'Requests from this origin are not allowed.' });
    t.equal((await refresh(base, user.refreshToken, { origin: 'null' })).status, 403);
    t.equal((await refresh(base, user.refreshToken, { 'sec-fetch-site': 'cross-site' })).status, 403);
    const session = await sessionOf(user.refreshToken);
    const chain = await db.selectFrom('auth.refresh_tokens').select('spent_at').where('session_id', '=', session.id).execute();
    t.same(chain.map((r) => r.spent_at), [null], 'a refused origin spends nothing');
    const own = await refresh(base, user.refreshToken, { origin: 'http://localhost:8080' });
    t.equal(own.status, 200);
    const twin = await refresh(base, refreshCookieValue(own.cookies)!, { origin: 'http://127.0.0.1:8080' });
    t.equal(twin.status, 200, 'the other loopback name of the gateway, outside production');
    t.equal((await refresh(base, refreshCookieValue(twin.cookies)!, { origin: 'http://127.0.0.1:8081' })).status, 403, 'another port is another origin');
    const allowed = await refresh(base, refreshCookieValue(twin.cookies)!, { origin: 'https://app.example.com' });
    t.equal(allowed.status, 200);
    const logout = await http(base, 'POST', '/auth/logout', { headers: { cookie: `refresh_token=${refreshCookieValue(allowed.cookies)}`, origin: 'https://evil.example' } });
    t.equal(logout.status, 403, 'cross-origin logout too');
  });
});
