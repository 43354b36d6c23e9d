// DELETE /auth/me through the whole stack (the gateway built in-process, on the real bus: Redis
// when REDIS_URL is set): the account's access tokens are refused by the gateway within 1 s, its
// refresh tokens and password stop working, the email is free again, and the audit rows stay
// without it.
import { test } from 'tap';
import { useTestStack, waitUntil } from './helpers.js';

const PASSWORD = 'correct horse battery';

async function call(url: string, method: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: Record<string, unknown> | undefined; cookie: string | undefined }> {
  const response = await fetch(url, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('refresh_token='))?.split(';')[0];
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>), cookie };
}

test('an account deleted through the gateway: its tokens are refused at the gateway within 1 s', async (t) => {
  const { stack } = await useTestStack(t);
  const gw = stack.gatewayUrl;
  const email = 'leaving@example.com';
  t.equal((await call(`${gw}/auth/register`, 'POST', {}, { email, password: PASSWORD })).status, 201);
  const sessions = [];
  for (let i = 0; i < 2; i += 1) {
    const login = await call(`${gw}/auth/login`, 'POST', {}, { email, password: PASSWORD, remember: true });
    t.equal(login.status, 200);
    sessions.push({ token: login.body!.access_token as string, cookie: login.cookie! });
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  t.equal((await call(`${gw}/orders`, 'POST', bearer(sessions[0]!.token), { item: 'farewell cake', quantity: 1 })).status, 201);
  for (const s of sessions) t.equal((await call(`${gw}/orders`, 'GET', bearer(s.token))).status, 200, 'both sessions work before');

  const wrong = await call(`${gw}/auth/me`, 'DELETE', bearer(sessions[0]!.token), { password: 'not the password' });
  t.equal(wrong.status, 403, 'the password is required');
  t.equal((await call(`${gw}/orders`, 'GET', bearer(sessions[0]!.token))).status, 200, 'a wrong password changes nothing');

  const started = Date.now();
  const deleted = await call(`${gw}/auth/me`, 'DELETE', bearer(sessions[0]!.token), { password: PASSWORD });
  t.equal(deleted.status, 204);
  for (const [i, s] of sessions.entries()) {
    const took = await waitUntil(async () => (await call(`${gw}/orders`, 'GET', bearer(s.token))).status === 401, 1_000, 10);
    t.ok(took !== undefined, `session ${i + 1}: the gateway refuses its access token within 1 s of the delete (${Date.now() - started} ms)`);
  }
  for (const s of sessions) {
    const refreshed = await call(`${gw}/auth/refresh`, 'POST', { cookie: s.cookie });
    t.equal(refreshed.status, 401, 'the refresh token is dead');
    t.equal(refreshed.body?.error, 'invalid_grant');
  }
  t.equal((await call(`${gw}/auth/me`, 'GET', bearer(sessions[1]!.token))).status, 401, 'the auth service refuses it too');
  const login = await call(`${gw}/auth/login`, 'POST', {}, { email, password: PASSWORD });
  t.equal(login.status, 401, 'the account is gone');
  t.equal(login.body?.error, 'invalid_credentials');
  const again = await call(`${gw}/auth/register`, 'POST', {}, { email, password: PASSWORD });
  t.equal(again.status, 201, 'the email is free again, for a new account');
  const fresh = await call(`${gw}/auth/login`, 'POST', {}, { email, password: PASSWORD });
  const orders = await call(`${gw}/orders`, 'GET', bearer(fresh.body!.access_token as string));
  t.same(orders.body, [], "a new account with the same email sees nothing of the deleted account's orders");
});
