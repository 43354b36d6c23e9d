// DELETE /auth/me in the auth service: what is removed, what is kept, what the gateways are told,
// and what a wrong password costs. The gateway side is tests/e2e/account-deletion.test.ts.
import { test } from 'tap';
import { recordAudit } from '../../src/audit/service.js';
import { revocationsStillEnforced } from '../../src/revocations/service.js';
import { PASSWORD, bearer, claimsOf, http, login, refresh, registerAndLogin, startAuth } from '../helpers.js';

test('DELETE /auth/me', async (t) => {
  const auth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_IP: '10000', RATE_LIMIT_LOGIN_PER_ACCOUNT: '4' });
  const { base, ctx } = auth;

  await t.test('removes the account and its data, keeps the audit rows without the email, announces every session', async (t) => {
    const user = await registerAndLogin(base);
    const second = await login(base, user.email);
    t.equal((await http(base, 'POST', '/auth/mfa/totp', { headers: bearer(user.accessToken) })).status, 200, 'a pending factor to be removed too');
    await http(base, 'POST', '/auth/logout', { headers: bearer(second.accessToken) });
    // A row that named the email (as a mail event might): the deletion drops that member only.
    await recordAudit(ctx.db, { event: 'login_failure', userId: user.userId, details: { email: user.email, reason: 'test' } });
    const heard: string[] = [];
    const unsubscribe = await ctx.bus.subscribe('revocations', (message) => heard.push(message));
    t.teardown(unsubscribe);
    const sessionIds = (await ctx.db.selectFrom('auth.sessions').select('id').where('user_id', '=', user.userId).execute()).map((r) => r.id).sort();
    t.equal(sessionIds.length, 2);

    const res = await http(base, 'DELETE', '/auth/me', { headers: bearer(user.accessToken), json: { password: PASSWORD } });
    t.equal(res.status, 204);
    t.equal(res.headers.get('cache-control'), 'no-store');
    t.match(res.cookies[0], /^refresh_token=; Max-Age=0; /, 'the refresh cookie is cleared');

    for (const table of ['auth.users', 'auth.sessions', 'auth.mfa_totp', 'auth.authorization_codes'] as const) {
      const column = table === 'auth.users' ? 'id' : 'user_id';
      const rows = await ctx.db.selectFrom(table).select(column).where(column, '=', user.userId).execute();
      t.equal(rows.length, 0, `nothing left in ${table}`);
    }
    t.equal((await ctx.db.selectFrom('auth.mail_outbox').select('id').where('to_address', '=', user.email).execute()).length, 0, 'no mail to the address is kept');
    const audit = await ctx.db.selectFrom('auth.audit_events').select(['event', 'details']).where('user_id', '=', user.userId).orderBy('id').execute();
    t.ok(audit.length >= 4, 'the audit rows are kept');
    t.notOk(JSON.stringify(audit).includes(user.email), 'without the email');
    t.same(audit.find((a) => a.details.reason === 'test')?.details, { reason: 'test' });
    t.same(audit.at(-1), { event: 'account_deleted', details: { by: 'user', revoked_sessions: 1 } });

    const kept = (await ctx.db.selectFrom('auth.deleted_account_sessions').select('session_id').execute()).map((r) => r.session_id);
    t.same(kept.filter((id) => sessionIds.includes(id)).sort(), sessionIds, 'both sessions (the live one and the one revoked moments ago) are kept as revocations');
    const enforced = (await revocationsStillEnforced(ctx)).filter((r) => r.type === 'session').map((r) => r.id);
    t.ok(sessionIds.every((id) => enforced.includes(id)), 'the re-announcer and GET /internal/revocations still know them');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const live = claimsOf(user.accessToken).sid as string;
    t.ok(heard.some((m) => (JSON.parse(m) as { type: string; id: string }).type === 'session' && m.includes(live)), 'the live session is announced on the bus');

    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 401);
    t.equal((await refresh(base, user.refreshToken)).status, 401);
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } })).status, 401);
  });

  await t.test('a wrong password changes nothing and counts against the login limit', async (t) => {
    const user = await registerAndLogin(base);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await http(base, 'DELETE', '/auth/me', { headers: bearer(user.accessToken), json: { password: `wrong ${i}` } })).status);
    t.same(statuses, [403, 403, 403, 429], 'the login and three wrong passwords spend the four attempts');
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 200, 'the account is still there');
    t.equal((await http(base, 'DELETE', '/auth/me', { headers: bearer(user.accessToken), json: {} })).status, 400, 'schema: password required');
  });

  await t.test('the last admin cannot delete themselves', async (t) => {
    const admin = await registerAndLogin(base);
    await ctx.db.updateTable('auth.users').set({ role: 'admin' }).where('id', '=', admin.userId).execute();
    const others = await ctx.db.selectFrom('auth.users').select('id').where('role', '=', 'admin').where('id', '!=', admin.userId).execute();
    t.equal(others.length, 0);
    const res = await http(base, 'DELETE', '/auth/me', { headers: bearer(admin.accessToken), json: { password: PASSWORD } });
    t.equal(res.status, 409);
    t.equal((res.body as { error: string }).error, 'conflict');
  });
});
