/**
 * The real process: dist/main.js starts from the environment alone (its own database and bus),
 * serves through gateway trust, and on SIGTERM drains, stops the relay, closes and exits 0
 * within SHUTDOWN_TIMEOUT_MS (past it, the process would exit 1).
 */
import { test } from 'tap';
import { alice, expectCleanExit, gatewayHeaders, startSampleMain } from './helpers.js';

test('orders main: start, serve, SIGTERM, exit 0', async (t) => {
  const service = await startSampleMain(t, 'orders', new URL('../dist/main.js', import.meta.url), { SHUTDOWN_TIMEOUT_MS: '3000' });
  const { secret } = service;

  const forged = await fetch(`${service.url}/orders`, { headers: { 'x-user-id': alice.id, 'x-user-role': 'admin' } });
  t.equal(forged.status, 401);
  const placed = await fetch(`${service.url}/orders`, {
    method: 'POST',
    headers: { ...gatewayHeaders(secret, alice, 'POST', '/orders'), 'content-type': 'application/json' },
    body: JSON.stringify({ item: 'from a real process', quantity: 7 }),
  });
  t.equal(placed.status, 201);
  t.match(await placed.json(), { user_id: alice.id, item: 'from a real process', quantity: 7, status: 'placed' });
  const hidden = await fetch(`${service.url}/metrics`, { headers: gatewayHeaders(secret, alice, 'GET', '/metrics') });
  t.equal(hidden.status, 404, 'no metrics on the public port');
  t.same(await hidden.json(), { error: 'not_found', error_description: 'No route for GET /metrics.' });
  const scraped = await fetch(`${service.metricsUrl}/metrics`);
  t.equal(scraped.status, 200, 'the process opened its operations listener at METRICS_HOST:METRICS_PORT');
  t.match(await scraped.text(), /orders_placed_total\{service="orders"\} 1\n/);

  const lines = await expectCleanExit(t, service, 'orders', 'exit 0: drained and closed within the shutdown timeout');
  t.ok(lines.some((line) => line.msg === 'order placed' && typeof line.reqId === 'string'), 'with the request id');
});
