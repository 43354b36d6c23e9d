/**
 * Only the gateway is trusted by notifications: forged identity headers, a missing or wrong
 * proof, a proof replayed on another path or after its window all get 401 and change nothing.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'tap';
import { admin, alice, asUser, createChain, eventually, gatewayHeaders } from './helpers.js';

test('gateway trust on notifications', async (t) => {
  const chain = await createChain(t);
  const orders = await chain.orders();
  const app = await chain.notifications();
  const secret = chain.notificationsConfig.gatewaySecret;
  await asUser(orders, chain.ordersConfig.gatewaySecret, alice)('POST', '/orders', { payload: { item: 'scarf', quantity: 1 } });
  const [notice] = await eventually(async () => {
    const rows = (await asUser(app, secret, alice)('GET', '/notifications')).json() as Array<{ id: string; read: boolean }>;
    return rows.length > 0 ? rows : undefined;
  }, 2_000, "alice's notification");
  const readUrl = `/notifications/${notice!.id}/read`;

  const refused = { status: 401, body: { error: 'unauthorized', error_description: 'This service only accepts requests forwarded by the gateway.' } };
  const outcome = (res: { statusCode: number; json(): unknown }) => ({ status: res.statusCode, body: res.json() });

  await t.test('forged X-User-ID/X-User-Role with no proof or a wrong one', async (t) => {
    const forged = { 'x-user-id': alice.id, 'x-user-role': 'admin', 'x-request-id': 'r-1' };
    t.same(outcome(await app.inject({ method: 'GET', url: '/notifications', headers: forged })), refused, 'list, no proof');
    t.same(outcome(await app.inject({ method: 'POST', url: readUrl, headers: forged })), refused, 'mark read, no proof');
    const otherSecret = gatewayHeaders(randomBytes(32), alice, 'GET', '/notifications');
    t.same(outcome(await app.inject({ method: 'GET', url: '/notifications', headers: otherSecret })), refused, 'another secret');
    const impersonated = { ...gatewayHeaders(secret, admin, 'GET', '/notifications'), 'x-user-id': alice.id };
    t.same(outcome(await app.inject({ method: 'GET', url: '/notifications', headers: impersonated })), refused, 'identity changed after signing');
  });

  await t.test('a captured proof replayed on another path, twice, or after the window', async (t) => {
    const captured = gatewayHeaders(secret, alice, 'GET', '/notifications');
    t.same(outcome(await app.inject({ method: 'POST', url: readUrl, headers: captured })), refused, 'another method and path');
    t.same(outcome(await app.inject({ method: 'GET', url: '/notifications?limit=5', headers: captured })), refused, 'another query');
    t.equal((await app.inject({ method: 'GET', url: '/notifications', headers: captured })).statusCode, 200, 'its own request passes once');
    t.same(outcome(await app.inject({ method: 'GET', url: '/notifications', headers: captured })), refused, 'the same request again');
    const stale = gatewayHeaders(secret, alice, 'POST', readUrl, Date.now() - 31_000);
    t.same(outcome(await app.inject({ method: 'POST', url: readUrl, headers: stale })), refused, 'after the 30 s window');
  });

  await t.test('the refused requests changed nothing', async (t) => {
    const rows = (await asUser(app, secret, alice)('GET', '/notifications')).json() as Array<{ id: string; read: boolean }>;
    t.same(rows.map((row) => [row.id, row.read]), [[notice!.id, false]]);
  });
});
