/**
 * Reliability of orders → notifications: 200 orders placed while notifications is stopped (and
 * some of them read but never acknowledged, as by a consumer that crashed mid-batch) all appear
 * exactly once after it starts again; a full redelivery of every event changes nothing.
 */
import { test } from 'tap';
import { sql } from 'kysely';
import { admin, alice, asUser, bob, createChain, eventually, metric } from './helpers.js';

const CONSUMER = 'notifications-catch-up-test';

test('nothing lost while notifications is down, nothing shown twice', async (t) => {
  // A fixed consumer name, as INSTANCE_NAME gives each instance in production.
  const chain = await createChain(t, { INSTANCE_NAME: CONSUMER });
  const secret = chain.notificationsConfig.gatewaySecret;
  // Two orders instances: both relay, and must not double-send (or the consumer must absorb it).
  const ordersA = await chain.orders();
  const ordersB = await chain.orders();
  const countStored = async () => {
    const result = await sql<{ n: number }>`select count(*)::int as n from notifications.notifications`.execute(chain.database.db);
    return result.rows[0]!.n;
  };
  const listAll = async (caller: typeof alice) => {
    const res = await asUser(notifications, secret, caller)('GET', '/notifications?limit=200');
    return res.json() as Array<{ id: string; data: { order_id: string } }>;
  };

  let notifications = await chain.notifications();
  await asUser(ordersA, chain.ordersConfig.gatewaySecret, admin)('POST', '/orders', { payload: { item: 'warm-up', quantity: 1 } });
  await eventually(async () => ((await listAll(admin)).length === 1 ? true : undefined), 2_000, 'the warm-up notification');
  await notifications.close();
  // close() does not wait for the consumer's blocking read on the shared bus (up to 1 s); let it
  // return empty-handed so the crash below is the only thing holding entries unacknowledged.
  await new Promise((resolve) => setTimeout(resolve, 1_200));

  const placed = new Map<string, string[]>([
    [alice.id, []],
    [bob.id, []],
  ]);
  for (let i = 0; i < 200; i += 1) {
    const caller = i % 2 === 0 ? alice : bob;
    const app = i % 4 < 2 ? ordersA : ordersB;
    const res = await asUser(app, chain.ordersConfig.gatewaySecret, caller)('POST', '/orders', { payload: { item: `order ${i}`, quantity: (i % 1000) + 1 } });
    t.equal(res.statusCode, 201);
    placed.get(caller.id)!.push(res.json().id);
  }
  await eventually(async () => ((await metric(ordersA, 'orders_outbox_backlog')) === 0 ? true : undefined), 10_000, 'the outbox to drain onto the stream');
  t.equal(await countStored(), 1, 'nothing was stored while notifications was down');

  // A crash after reading a batch but before storing it: those entries are pending under this consumer's name.
  const taken = await chain.bus.streamReadGroup('order-events', 'notifications', CONSUMER, { count: 30 });
  t.equal(taken.length, 30, 'thirty entries read and never acknowledged');

  notifications = await chain.notifications();
  for (const caller of [alice, bob]) {
    const rows = await eventually(async () => {
      const current = await listAll(caller);
      return current.length >= 100 ? current : undefined;
    }, 20_000, `100 notifications for ${caller.id}`);
    t.equal(rows.length, 100, `${caller.id} has exactly 100`);
    t.same(new Set(rows.map((row) => row.data.order_id)), new Set(placed.get(caller.id)), `one per order of ${caller.id}`);
  }
  t.equal(await countStored(), 201, 'and nothing else was stored');

  // Every event relayed again (as after a relay that crashed before marking its batch relayed).
  await sql`update orders.outbox set relayed_at = null`.execute(chain.database.db);
  await eventually(
    async () => ((await metric(notifications, 'notifications_events_consumed_total', 'result="duplicate"')) ?? 0) >= 201 || undefined,
    20_000,
    'all 201 events to be redelivered',
  );
  t.equal(await countStored(), 201, 'a redelivery stores nothing new');
  t.equal((await listAll(alice)).length, 100);
  t.equal((await listAll(bob)).length, 100);
  t.equal(await metric(notifications, 'notifications_events_consumed_total', 'result="created"'), 200, 'the restarted instance created exactly the 200');
});
