/**
 * The real process: dist/main.js starts from the environment alone (its own database and bus),
 * consumes the order-events stream, serves through gateway trust, and on SIGTERM stops the
 * consumer without waiting out its blocking read, closes and exits 0 within SHUTDOWN_TIMEOUT_MS.
 */
import { test } from 'tap';
import { alice, eventually, expectCleanExit, gatewayHeaders, startSampleMain } from './helpers.js';

test('notifications main: start, serve, SIGTERM, exit 0', async (t) => {
  const service = await startSampleMain(t, 'notifications', new URL('../dist/main.js', import.meta.url), { SHUTDOWN_TIMEOUT_MS: '1500' });

  const forged = await fetch(`${service.url}/notifications`, { headers: { 'x-user-id': alice.id, 'x-user-role': 'user' } });
  t.equal(forged.status, 401);
  const listed = await fetch(`${service.url}/notifications`, { headers: gatewayHeaders(service.secret, alice, 'GET', '/notifications') });
  t.equal(listed.status, 200);
  t.same(await listed.json(), []);
  t.equal((await fetch(`${service.url}/metrics`)).status, 404, 'no metrics on the public port');
  // The consumer is parked in a blocking read by now; a scrape of the operations listener (METRICS_PORT) shows it has not failed.
  await eventually(async () => {
    const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
    return /notifications_consumer_failures_total\{service="notifications"\} 0/.test(text) || undefined;
  }, 5_000, 'the consumer metrics');

  await expectCleanExit(t, service, 'notifications', 'exit 0: consumer stopped and everything closed within the 1.5 s shutdown timeout');
});
