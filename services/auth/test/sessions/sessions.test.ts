import { test } from 'tap';
import { bearer, http, login, refresh, registerAndLogin, startAuth, waitFor } from '../helpers.js';

test('logout, logout-all and session management over HTTP', async (t) => {
  const auth = await startAuth(t);
  const { base, ctx } = auth;
  const messages: { type: string; id: string; until: number }[] = [];
  const unsubscribe = await ctx.bus.subscribe('revocations', (message) => messages.push(JSON.parse(message) as { type: string; id: string; until: number }));
  t.teardown(unsubscribe);
  const sid = (accessToken: string) => (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;

  async function published(sessionId: string): Promise<boolean> {
    return waitFor(async () => {
      const inSet = (await ctx.bus.listExpiring('revoked')).some((m) => m.member === `session:${sessionId}`);
      return inSet && messages.some((m) => m.type === 'session' && m.id === sessionId);
    });
  }

  await t.test('logout by refresh cookie: 204, cookie cleared, session revoked and published', async (t) => {
    const user = await registerAndLogin(base);
    const res = await http(base, 'POST', '/auth/logout', { headers: { cookie: `refresh_token=${user.refreshToken}` } });
    t.equal(res.status, 204);
    t.equal(res.text, '');
    t.match(res.cookies[0], /^refresh_token=; Max-Age=0; Path=\/auth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/);
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 401);
    t.ok(await published(sid(user.accessToken)));
    const audit = await ctx.db.selectFrom('auth.audit_events').select('event').where('session_id', '=', sid(user.accessToken)).where('event', '=', 'logout').execute();
    t.equal(audit.length, 1);
  });

  await t.test('logout by Bearer: 204 and that session revoked; without credentials 401', async (t) => {
    const user = await registerAndLogin(base);
    const res = await http(base, 'POST', '/auth/logout', { headers: bearer(user.accessToken) });
    t.equal(res.status, 204);
    t.equal((await refresh(base, user.refreshToken)).status, 401);
    t.ok(await published(sid(user.accessToken)));
    const none = await http(base, 'POST', '/auth/logout');
    t.equal(none.status, 401);
    t.same(none.body, { error: 'unauthorized', error_description: 'A refresh cookie or a Bearer access token is required.' });
    const bad = await http(base, 'POST', '/auth/logout', { headers: bearer('a.b.c') });
    t.equal(bad.status, 401);
    t.equal((bad.body as { error: string }).error, 'invalid_token');
  });

  await t.test('logout-all: 204, every session of the user revoked and published; other users untouched', async (t) => {
    const user = await registerAndLogin(base);
    const second = await login(base, user.email);
    const bystander = await registerAndLogin(base);
    t.equal((await http(base, 'POST', '/auth/logout-all')).status, 401);
    const res = await http(base, 'POST', '/auth/logout-all', { headers: bearer(user.accessToken) });
    t.equal(res.status, 204);
    t.equal((await refresh(base, user.refreshToken)).status, 401);
    t.equal((await refresh(base, second.refreshToken)).status, 401);
    t.ok(await published(sid(user.accessToken)));
    t.ok(await published(sid(second.accessToken)));
    t.equal((await refresh(base, bystander.refreshToken)).status, 200);
  });

  await t.test('sessions: lists own live sessions with current flag; delete own 204; another user\'s 404', async (t) => {
    const user = await registerAndLogin(base);
    const second = await login(base, user.email);
    const other = await registerAndLogin(base);
    const list = await http(base, 'GET', '/auth/sessions', { headers: { ...bearer(user.accessToken), 'user-agent': 'tests' } });
    t.equal(list.status, 200);
    const rows = list.body as { id: string; current: boolean; ip: string; user_agent: string; created_at: string; last_used_at: string }[];
    t.equal(rows.length, 2);
    t.same(Object.keys(rows[0]!).sort(), ['created_at', 'current', 'id', 'ip', 'last_used_at', 'user_agent']);
    t.same(rows.filter((r) => r.current).map((r) => r.id), [sid(user.accessToken)]);
    t.equal(rows[0]!.ip, '127.0.0.1');
    t.equal((await http(base, 'GET', '/auth/sessions')).status, 401);

    const foreign = await http(base, 'DELETE', `/auth/sessions/${sid(other.accessToken)}`, { headers: bearer(user.accessToken) });
    t.equal(foreign.status, 404);
    t.same(foreign.body, { error: 'not_found', error_description: 'No such session.' });
    t.equal((await refresh(base, other.refreshToken)).status, 200, "the other user's session is untouched");
    t.equal((await http(base, 'DELETE', '/auth/sessions/00000000-0000-4000-8000-000000000000', { headers: bearer(user.accessToken) })).status, 404);
    t.equal((await http(base, 'DELETE', '/auth/sessions/not-a-uuid', { headers: bearer(user.accessToken) })).status, 400);
    t.equal((await http(base, 'DELETE', `/auth/sessions/${sid(second.accessToken)}`)).status, 401);

    const del = await http(base, 'DELETE', `/auth/sessions/${sid(second.accessToken)}`, { headers: bearer(user.accessToken) });
    t.equal(del.status, 204);
    t.equal((await refresh(base, second.refreshToken)).status, 401);
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(second.accessToken) })).status, 401);
    t.ok(await published(sid(second.accessToken)));
    const again = await http(base, 'DELETE', `/auth/sessions/${sid(second.accessToken)}`, { headers: bearer(user.accessToken) });
    t.equal(again.status, 404, 'an already revoked session is gone');
    const after = await http(base, 'GET', '/auth/sessions', { headers: bearer(user.accessToken) });
    t.equal((after.body as unknown[]).length, 1);
  });
});
