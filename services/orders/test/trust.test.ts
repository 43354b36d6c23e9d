/**
 * Only the gateway is trusted: forged identity headers, a missing or wrong proof, a proof
 * replayed on another path or after its window all get 401, and nothing is stored or shown.
 * Health and readiness stay open; metrics are served on the operations listener only.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'tap';
import { scrapeMetrics } from '@keygate/testing';
import { admin, alice, asUser, gatewayHeaders, buildTestApp } from './helpers.js';

test('gateway trust on orders', async (t) => {
  const { app, config } = await buildTestApp(t);
  const secret = config.gatewaySecret;
  const existing = (await asUser(app, secret, alice)('POST', '/orders', { payload: { item: 'lamp', quantity: 1 } })).json();

  const refused = { status: 401, body: { error: 'unauthorized', error_description: 'This service only accepts requests forwarded by the gateway.' } };
  const outcome = (res: { statusCode: number; json(): unknown }) => ({ status: res.statusCode, body: res.json() });

  await t.test('forged X-User-ID/X-User-Role without a proof', async (t) => {
    const forged = { 'x-user-id': admin.id, 'x-user-role': 'admin', 'x-request-id': 'r-1' };
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: forged })), refused, 'list');
    t.same(outcome(await app.inject({ method: 'GET', url: `/orders/${existing.id}`, headers: forged })), refused, 'read');
    t.same(outcome(await app.inject({ method: 'POST', url: '/orders', headers: forged, payload: { item: 'x', quantity: 1 } })), refused, 'create');
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders' })), refused, 'no headers at all');
  });

  await t.test('a wrong proof: another secret, garbage, or signed for another identity', async (t) => {
    const otherSecret = gatewayHeaders(randomBytes(32), admin, 'GET', '/orders');
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: otherSecret })), refused, 'another secret');
    const garbage = { ...gatewayHeaders(secret, admin, 'GET', '/orders'), 'x-gateway-proof': 't=1;v1=abc' };
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: garbage })), refused, 'garbage');
    const escalated = { ...gatewayHeaders(secret, alice, 'GET', '/orders'), 'x-user-role': 'admin' };
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: escalated })), refused, 'role changed after signing');
    const impersonated = { ...gatewayHeaders(secret, alice, 'GET', '/orders'), 'x-user-id': 'user-bob' };
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: impersonated })), refused, 'user changed after signing');
    const widened = { ...gatewayHeaders(secret, alice, 'GET', '/orders'), 'x-user-scope': `${alice.scope} admin` };
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: widened })), refused, 'scope widened after signing');
    const otherClient = { ...gatewayHeaders(secret, alice, 'GET', '/orders'), 'x-client-id': 'another-client' };
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: otherClient })), refused, 'client changed after signing');
  });

  await t.test('a captured proof replayed on another path, method, twice, or after the window', async (t) => {
    const captured = gatewayHeaders(secret, alice, 'GET', `/orders/${existing.id}`);
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: captured })), refused, 'another path');
    t.same(outcome(await app.inject({ method: 'GET', url: `/orders/${existing.id}?x=1`, headers: captured })), refused, 'another query');
    t.same(outcome(await app.inject({ method: 'POST', url: '/orders', headers: captured, payload: { item: 'x', quantity: 1 } })), refused, 'another method and path');
    const first = await app.inject({ method: 'GET', url: `/orders/${existing.id}`, headers: captured });
    t.equal(first.statusCode, 200, 'its first use on its own request passes');
    t.same(outcome(await app.inject({ method: 'GET', url: `/orders/${existing.id}`, headers: captured })), refused, 'the same request again');
    const stale = gatewayHeaders(secret, alice, 'GET', '/orders', Date.now() - 31_000);
    t.same(outcome(await app.inject({ method: 'GET', url: '/orders', headers: stale })), refused, 'after the 30 s window');
  });

  await t.test('nothing was stored by the refused requests', async (t) => {
    const all = await asUser(app, secret, admin)('GET', '/orders');
    t.same(all.json(), [existing]);
  });

  await t.test('health and readiness need no proof; metrics are on the operations listener only', async (t) => {
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    t.equal(health.statusCode, 200);
    t.same(health.json(), { status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 200);
    t.same(ready.json(), { status: 'ready', checks: { database: 'ok', bus: 'ok' } });
    const hidden = await asUser(app, secret, admin)('GET', '/metrics');
    t.equal(hidden.statusCode, 404, 'not on the public port, even with a proof');
    t.same(hidden.json(), { error: 'not_found', error_description: 'No route for GET /metrics.' });
    t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'nor without one');
    const metrics = await scrapeMetrics(app);
    t.match(metrics, /orders_placed_total\{service="orders"\} 1/);
    t.match(metrics, /orders_outbox_backlog\{service="orders"\} \d+/);
  });
});
