// A login repeated with its Idempotency-Key (nginx's resend after a reset) supersedes the session
// the first try started: one live session, the first revoked ('login_superseded'), published to the
// gateways, no theft alarm. Different keys, another user, another request or no key: as before.
import { test } from 'tap';
import { FIRST_PARTY_CLIENT_ID } from '../../src/context.js';
import { PASSWORD, bearer, http, refresh, refreshCookieValue, registerAndLogin, startAuth, waitFor } from '../helpers.js';
import { FORM, form } from '../oauth-helpers.js';

interface Login {
  status: number;
  refreshToken: string;
  sessionId: string;
  accessToken: string;
}

test('POST /auth/login and the password grant honour Idempotency-Key', async (t) => {
  // Every check logs in a few times from one address: the per-address login limit is raised.
  const auth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_IP: '1000' });
  const { base, ctx } = auth;
  const messages: string[] = [];
  const unsubscribe = await ctx.bus.subscribe('revocations', (message) => messages.push(message));
  t.teardown(unsubscribe);

  const loginWith = async (email: string, key: string | undefined, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Login> => {
    const res = await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD, ...extra }, headers: { ...(key === undefined ? {} : { 'idempotency-key': key }), ...headers } });
    const accessToken = (res.body as { access_token: string }).access_token;
    const sessionId = (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
    return { status: res.status, refreshToken: refreshCookieValue(res.cookies)!, sessionId, accessToken };
  };
  const sessionRow = (id: string) => ctx.db.selectFrom('auth.sessions').select(['revoked_at', 'revoked_reason', 'login_key']).where('id', '=', id).executeTakeFirstOrThrow();
  const liveCount = async (userId: string) => (await ctx.db.selectFrom('auth.sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute()).length;
  const published = (id: string) => waitFor(() => messages.some((m) => (JSON.parse(m) as { type: string; id: string }).type === 'session' && (JSON.parse(m) as { id: string }).id === id));
  const fresh = async () => {
    const user = await registerAndLogin(base);
    // registerAndLogin's own login (no key) is one live session; the checks count from there.
    await http(base, 'POST', '/auth/logout', { headers: bearer(user.accessToken) });
    return user;
  };

  await t.test('the same key twice: one live session, the first revoked and published, no theft alarm', async (t) => {
    const user = await fresh();
    const first = await loginWith(user.email, 'resend-1');
    const second = await loginWith(user.email, 'resend-1');
    t.equal(first.status, 200);
    t.equal(second.status, 200);
    t.not(first.sessionId, second.sessionId, 'a new session (the first answer cannot be handed back)');
    t.equal(await liveCount(user.userId), 1);
    t.match(await sessionRow(first.sessionId), { revoked_reason: 'login_superseded' });
    t.equal((await sessionRow(second.sessionId)).revoked_at, null);
    t.ok(await published(first.sessionId), 'the superseded session is announced like any revocation');
    t.equal((await refresh(base, first.refreshToken)).status, 401, "the first try's refresh token is dead");
    t.equal((await refresh(base, second.refreshToken)).status, 200, 'the answer the client got works');
    const reuse = await ctx.db.selectFrom('auth.audit_events').select('event').where('user_id', '=', user.userId).where('event', '=', 'refresh_token_reuse').execute();
    t.equal(reuse.length, 0, 'no theft alarm');
    const audit = await ctx.db.selectFrom('auth.audit_events').select('details').where('session_id', '=', second.sessionId).where('event', '=', 'login_success').executeTakeFirstOrThrow();
    t.same(audit.details, { superseded_sessions: [first.sessionId] }, 'the new login_success row names what it revoked');
    // The quoted form of the header is the same key.
    const third = await loginWith(user.email, '"resend-1"');
    t.match(await sessionRow(second.sessionId), { revoked_reason: 'login_superseded' });
    t.equal(await liveCount(user.userId), 1);
    t.equal((await refresh(base, third.refreshToken)).status, 200);
  });

  await t.test('concurrent tries with one key (a resend overtaking its first try): one live session', async (t) => {
    const user = await fresh();
    const tries = await Promise.all(Array.from({ length: 6 }, () => loginWith(user.email, 'concurrent-1')));
    t.same(tries.map((one) => one.status), [200, 200, 200, 200, 200, 200]);
    t.equal(await liveCount(user.userId), 1);
  });

  await t.test('different keys: two sessions', async (t) => {
    const user = await fresh();
    const a = await loginWith(user.email, 'key-a');
    const b = await loginWith(user.email, 'key-b');
    t.equal(await liveCount(user.userId), 2);
    t.equal((await refresh(base, a.refreshToken)).status, 200);
    t.equal((await refresh(base, b.refreshToken)).status, 200);
  });

  await t.test("another user's login with the same key is independent", async (t) => {
    const one = await fresh();
    const other = await fresh();
    const a = await loginWith(one.email, 'shared-key');
    const b = await loginWith(other.email, 'shared-key');
    t.equal(await liveCount(one.userId), 1);
    t.equal(await liveCount(other.userId), 1);
    t.equal((await sessionRow(a.sessionId)).revoked_at, null);
    t.equal((await sessionRow(b.sessionId)).revoked_at, null);
  });

  await t.test('the same key on another request (remember, another device) starts an independent session', async (t) => {
    const user = await fresh();
    await loginWith(user.email, 'reused-key');
    await loginWith(user.email, 'reused-key', { remember: true });
    await loginWith(user.email, 'reused-key', {}, { 'user-agent': 'another device' });
    t.equal(await liveCount(user.userId), 3);
  });

  await t.test('no key: every login a session of its own, as before', async (t) => {
    const user = await fresh();
    const a = await loginWith(user.email, undefined);
    const b = await loginWith(user.email, undefined);
    t.equal(await liveCount(user.userId), 2);
    t.equal((await sessionRow(a.sessionId)).login_key, null);
    t.equal((await sessionRow(b.sessionId)).login_key, null);
  });

  await t.test('after the window the key starts an independent session', async (t) => {
    const user = await fresh();
    const a = await loginWith(user.email, 'old-key');
    await ctx.db.updateTable('auth.sessions').set({ created_at: new Date(Date.now() - 61_000) }).where('id', '=', a.sessionId).execute();
    await loginWith(user.email, 'old-key');
    t.equal(await liveCount(user.userId), 2);
  });

  await t.test('the password grant: the same key twice supersedes, another key does not', async (t) => {
    const user = await fresh();
    const grant = async (key: string) => {
      const res = await http(base, 'POST', '/oauth/token', { body: form({ grant_type: 'password', client_id: FIRST_PARTY_CLIENT_ID, username: user.email, password: PASSWORD }), headers: { ...FORM, 'idempotency-key': key } });
      t.equal(res.status, 200, res.text);
      return (res.body as { refresh_token: string }).refresh_token;
    };
    const first = await grant('grant-key');
    const second = await grant('grant-key');
    t.equal(await liveCount(user.userId), 1);
    const grantRefresh = (token: string) => http(base, 'POST', '/oauth/token', { body: form({ grant_type: 'refresh_token', client_id: FIRST_PARTY_CLIENT_ID, refresh_token: token }), headers: FORM });
    t.equal((await grantRefresh(first)).status, 400, "the first try's refresh token is dead (invalid_grant)");
    // nginx resends /oauth/token too: a refresh_token grant resent after auth acted (a gateway
    // killed after forwarding) gets the same successor within REFRESH_GRACE, no theft alarm.
    const rotated = await grantRefresh(second);
    const resent = await grantRefresh(second);
    t.equal(rotated.status, 200);
    t.equal(resent.status, 200, 'the resend is the grace retry');
    t.equal((resent.body as { refresh_token: string }).refresh_token, (rotated.body as { refresh_token: string }).refresh_token, 'the same successor');
    t.equal(await liveCount(user.userId), 1);
    await grant('another-grant-key');
    t.equal(await liveCount(user.userId), 2);
    // A cookie login with the same key is another request (another client): independent.
    await loginWith(user.email, 'grant-key');
    t.equal(await liveCount(user.userId), 3);
  });
});
