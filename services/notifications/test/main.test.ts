/**
 * The real process: dist/main.js starts from the environment alone (its own database and bus),
 * consumes the order-events stream, serves through gateway trust, and on SIGTERM stops the
 * consumer without waiting out its blocking read, closes and exits 0 within SHUTDOWN_TIMEOUT_MS.
 */
import { fileURLToPath } from 'node:url';
import { test } from 'tap';
import { createTestEnvironment } from '@keygate/testing';
import { alice, eventually, gatewayHeaders, startMain } from './helpers.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

test('notifications main: start, serve, SIGTERM, exit 0', async (t) => {
  const { env, cleanup } = await createTestEnvironment({ LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '1500' });
  t.teardown(cleanup);
  const service = await startMain(t, MAIN, env, 'NOTIFICATIONS_PORT');
  const secret = Buffer.from(env.GATEWAY_SECRET!, 'base64');

  const forged = await fetch(`${service.url}/notifications`, { headers: { 'x-user-id': alice.id, 'x-user-role': 'user' } });
  t.equal(forged.status, 401);
  const listed = await fetch(`${service.url}/notifications`, { headers: gatewayHeaders(secret, alice, 'GET', '/notifications') });
  t.equal(listed.status, 200);
  t.same(await listed.json(), []);
  t.equal((await fetch(`${service.url}/metrics`)).status, 404, 'no metrics on the public port');
  // The consumer is parked in a blocking read by now; a scrape of the operations listener (METRICS_PORT) shows it has not failed.
  await eventually(async () => {
    const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
    return /notifications_consumer_failures_total\{service="notifications"\} 0/.test(text) || undefined;
  }, 5_000, 'the consumer metrics');

  const { code, stdout } = await service.terminate();
  t.equal(code, 0, 'exit 0: consumer stopped and everything closed within the 1.5 s shutdown timeout');
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { level: number; service?: string });
  t.ok(lines.every((line) => line.service === 'notifications'), 'JSON logs naming the service');
  t.notOk(lines.some((line) => line.level >= 50), 'and no error on the way down');
});
