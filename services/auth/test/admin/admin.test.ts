import { test } from 'tap';
import { PASSWORD, bearer, http, login, refresh, registerAndLogin, startAuth } from '../helpers.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'admin password 1';

test('admin endpoints over HTTP, first admin from ADMIN_EMAIL/ADMIN_PASSWORD', async (t) => {
  const auth = await startAuth(t, { ADMIN_EMAIL, ADMIN_PASSWORD });
  const { base, ctx } = auth;
  const admin = await login(base, ADMIN_EMAIL, ADMIN_PASSWORD);

  await t.test('the first admin exists with role admin', async (t) => {
    const me = await http(base, 'GET', '/auth/me', { headers: bearer(admin.accessToken) });
    t.match(me.body, { email: ADMIN_EMAIL, role: 'admin' });
  });

  await t.test('GET /admin/users: 200 for admin; 403 for a user; 401 without a token; 400 bad query', async (t) => {
    const user = await registerAndLogin(base);
    const list = await http(base, 'GET', '/admin/users', { headers: bearer(admin.accessToken) });
    t.equal(list.status, 200);
    const rows = list.body as { id: string; email: string; role: string; disabled: boolean }[];
    t.ok(rows.some((r) => r.email === user.email && r.role === 'user' && r.disabled === false));
    t.same(Object.keys(rows[0]!).sort(), ['created_at', 'disabled', 'email', 'id', 'role', 'updated_at']);
    t.notOk(list.text.includes('argon2'), 'no password hashes');
    const paged = await http(base, 'GET', '/admin/users?limit=1&offset=1', { headers: bearer(admin.accessToken) });
    t.equal((paged.body as unknown[]).length, 1);
    const forbidden = await http(base, 'GET', '/admin/users', { headers: bearer(user.accessToken) });
    t.equal(forbidden.status, 403);
    t.same(forbidden.body, { error: 'insufficient_scope', error_description: 'This needs a token with the scope "admin".' });
    t.equal(forbidden.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="admin"', 'a user\'s login token has no admin scope');
    const anonymous = await http(base, 'GET', '/admin/users');
    t.equal(anonymous.status, 401);
    t.equal((await http(base, 'GET', '/admin/users?limit=abc', { headers: bearer(admin.accessToken) })).status, 400);
    t.equal((await http(base, 'GET', '/admin/users?extra=1', { headers: bearer(admin.accessToken) })).status, 400);
  });

  await t.test('PATCH disabled: 200; sessions revoked; refresh and login refused', async (t) => {
    const user = await registerAndLogin(base);
    const res = await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { disabled: true }, headers: bearer(admin.accessToken) });
    t.equal(res.status, 200);
    t.match(res.body, { id: user.userId, email: user.email, role: 'user', disabled: true });
    const r = await refresh(base, user.refreshToken);
    t.equal(r.status, 401, 'refresh after the user was disabled');
    t.same(r.body, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 401);
    const again = await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } });
    t.equal(again.status, 401);
    t.same(again.body, { error: 'invalid_credentials', error_description: 'The email or password is wrong.' }, 'same answer as a wrong password');
    const listed = await ctx.bus.listExpiring('revoked');
    const session = (JSON.parse(Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
    t.ok(listed.some((m) => m.member === `session:${session}`), 'published');
    const enable = await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { disabled: false }, headers: bearer(admin.accessToken) });
    t.equal(enable.status, 200);
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } })).status, 200);
  });

  await t.test('PATCH role: promotes; old tokens revoked so a stale role cannot linger', async (t) => {
    const user = await registerAndLogin(base);
    const res = await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { role: 'admin' }, headers: bearer(admin.accessToken) });
    t.equal(res.status, 200);
    t.match(res.body, { role: 'admin' });
    t.equal((await refresh(base, user.refreshToken)).status, 401);
    const fresh = await login(base, user.email);
    t.equal((await http(base, 'GET', '/admin/users', { headers: bearer(fresh.accessToken) })).status, 200);
    const audit = await ctx.db.selectFrom('auth.audit_events').selectAll().where('event', '=', 'admin_user_change').where('user_id', '=', user.userId).execute();
    t.equal(audit.length, 1);
    t.match(audit[0]!.details, { actor: admin.userId, role: { from: 'user', to: 'admin' } });
  });

  await t.test('PATCH failures: 404 unknown id, 400 empty/extra/bad body or id, 403 for a user, 401 without token, 415 text', async (t) => {
    const user = await registerAndLogin(base);
    const h = bearer(admin.accessToken);
    const missing = await http(base, 'PATCH', '/admin/users/00000000-0000-4000-8000-000000000000', { json: { disabled: true }, headers: h });
    t.equal(missing.status, 404);
    t.same(missing.body, { error: 'not_found', error_description: 'No such user.' });
    t.equal((await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: {}, headers: h })).status, 400);
    t.equal((await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { role: 'root' }, headers: h })).status, 400);
    t.equal((await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { email: 'x@y.z' }, headers: h })).status, 400);
    t.equal((await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { disabled: 'yes' }, headers: h })).status, 400);
    t.equal((await http(base, 'PATCH', '/admin/users/42', { json: { disabled: true }, headers: h })).status, 400);
    t.equal((await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { role: 'admin' }, headers: bearer(user.accessToken) })).status, 403);
    t.equal((await http(base, 'PATCH', `/admin/users/${user.userId}`, { json: { role: 'admin' } })).status, 401);
    t.equal((await http(base, 'PATCH', `/admin/users/${user.userId}`, { body: '{"role":"admin"}', headers: { ...h, 'content-type': 'text/plain' } })).status, 415);
    t.equal((await refresh(base, user.refreshToken)).status, 200, 'none of that changed the user');
  });

  await t.test('an admin cannot demote or disable themselves (409), so the last admin cannot lock everyone out', async (t) => {
    for (const json of [{ role: 'user' }, { disabled: true }]) {
      const res = await http(base, 'PATCH', `/admin/users/${admin.userId}`, { json, headers: bearer(admin.accessToken) });
      t.equal(res.status, 409);
      t.same(res.body, { error: 'conflict', error_description: 'You cannot remove your own admin access or disable yourself.' });
    }
    t.equal((await http(base, 'GET', '/admin/users', { headers: bearer(admin.accessToken) })).status, 200, 'still admin, still logged in');
  });

  await t.test('a second start with ADMIN_EMAIL does not create another admin or touch the password', async (t) => {
    const { bootstrapAdmin } = await import('../../src/accounts/service.js');
    await bootstrapAdmin(ctx, 'other-admin@example.com', 'another password');
    const admins = await ctx.db.selectFrom('auth.users').select('email').where('role', '=', 'admin').execute();
    t.notOk(admins.some((a) => a.email === 'other-admin@example.com'));
  });
});

test('ADMIN_EMAIL of an existing non-admin account is not promoted at start-up', async (t) => {
  const { createAdmin, registerUser } = await import('../../src/accounts/service.js');
  const auth = await startAuth(t);
  await registerUser(auth.ctx, 'squatter@example.com', 'squatter password', { ip: null, userAgent: null });
  t.equal(await createAdmin(auth.ctx, 'squatter@example.com', 'operator password', { promoteExisting: false }), 'taken_by_user');
  const row = await auth.ctx.db.selectFrom('auth.users').select('role').where('email', '=', 'squatter@example.com').executeTakeFirstOrThrow();
  t.equal(row.role, 'user');
  t.equal(await createAdmin(auth.ctx, 'squatter@example.com', 'operator password', { promoteExisting: true }), 'promoted');
  t.equal(await createAdmin(auth.ctx, 'squatter@example.com', 'operator password', { promoteExisting: true }), 'already_admin');
});
