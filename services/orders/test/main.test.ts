/**
 * The real process: dist/main.js starts from the environment alone (its own database and bus),
 * serves through gateway trust, and on SIGTERM drains, stops the relay, closes and exits 0
 * within SHUTDOWN_TIMEOUT_MS (past it, the process would exit 1).
 */
import { fileURLToPath } from 'node:url';
import { test } from 'tap';
import { createTestEnvironment } from '@keygate/testing';
import { alice, gatewayHeaders, startMain } from './helpers.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

test('orders main: start, serve, SIGTERM, exit 0', async (t) => {
  const { env, cleanup } = await createTestEnvironment({ LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '3000' });
  t.teardown(cleanup);
  const service = await startMain(t, MAIN, env, 'ORDERS_PORT');
  const secret = Buffer.from(env.GATEWAY_SECRET!, 'base64');

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

  const { code, stdout } = await service.terminate();
  t.equal(code, 0, 'exit 0: drained and closed within the shutdown timeout');
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string; service?: string; reqId?: string });
  t.ok(lines.every((line) => line.service === 'orders'), 'JSON logs naming the service');
  t.ok(lines.some((line) => line.msg === 'order placed' && typeof line.reqId === 'string'), 'with the request id');
  t.notOk(lines.some((line) => line.level >= 50), 'and no error on the way down');
});
