/**
 * A consumer that stored a batch but could not acknowledge it (Redis blipped, or the process died
 * in between) gets the same entries again: they are stored once, shown once, and acknowledged in
 * the end so they stop coming back.
 */
import { test } from 'tap';
import { sql } from 'kysely';
import type { Bus } from '@keygate/bus';
import { alice, asUser, createChain, eventually, metric } from './helpers.js';

/** The chain's bus, except that the first `failures` acknowledgements fail as if Redis did not answer. */
function failingAcks(inner: Bus, failures: number): { bus: Bus; acks(): number } {
  let calls = 0;
  let succeeded = 0;
  const bus = new Proxy(inner, {
    get(target, property) {
      if (property === 'streamAck') {
        return async (...args: Parameters<Bus['streamAck']>) => {
          calls += 1;
          if (calls <= failures) throw Object.assign(new Error('Redis did not answer.'), { code: 'ERR_BUS_UNAVAILABLE' });
          await target.streamAck(...args);
          succeeded += 1;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { bus, acks: () => succeeded };
}

test('stored but not acknowledged: redelivered, stored once, then acknowledged', async (t) => {
  const chain = await createChain(t, { INSTANCE_NAME: 'notifications-redelivery-test' });
  const orders = await chain.orders();
  const flaky = failingAcks(chain.bus, 2);
  const notifications = await chain.notifications(flaky.bus);
  const secret = chain.notificationsConfig.gatewaySecret;

  const order = (await asUser(orders, chain.ordersConfig.gatewaySecret, alice)('POST', '/orders', { payload: { item: 'glass vase', quantity: 1 } })).json();
  await eventually(async () => (flaky.acks() > 0 ? true : undefined), 10_000, 'an acknowledgement to get through');

  t.ok(((await metric(notifications, 'notifications_consumer_failures_total')) ?? 0) >= 2, 'the two failed acknowledgements were counted');
  t.ok(((await metric(notifications, 'notifications_events_consumed_total', 'result="duplicate"')) ?? 0) >= 2, 'the redeliveries were recognised as duplicates');
  t.equal(await metric(notifications, 'notifications_events_consumed_total', 'result="created"'), 1, 'stored once');
  const rows = (await asUser(notifications, secret, alice)('GET', '/notifications')).json() as Array<{ data: { order_id: string } }>;
  t.same(rows.map((row) => row.data.order_id), [order.id], 'shown once');
  const stored = await sql<{ n: number }>`select count(*)::int as n from notifications.notifications`.execute(chain.database.db);
  t.equal(stored.rows[0]!.n, 1);
  // Nothing is left pending for anyone to claim, nor waiting as new.
  const leftover = await chain.bus.streamReadGroup('order-events', 'notifications', 'inspector', { count: 10, claimIdleMs: 0 });
  t.same(leftover, [], 'acknowledged in the end');
});
