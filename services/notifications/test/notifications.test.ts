/**
 * The notifications API behind the whole orders → outbox → stream → consumer path: an order
 * yields its `order_placed` notification within 2 s; each user sees and marks only their own.
 */
import { test } from 'tap';
import { admin, alice, asUser, bob, createChain, eventually, metric } from './helpers.js';

interface NotificationBody {
  id: string;
  user_id: string;
  type: string;
  data: { order_id: string; item: string; quantity: number };
  read: boolean;
  created_at: string;
}

test('notifications API', async (t) => {
  const chain = await createChain(t);
  const orders = await chain.orders();
  const notifications = await chain.notifications();
  const secret = chain.notificationsConfig.gatewaySecret;
  const place = async (caller: typeof alice, item: string, quantity: number) => {
    const res = await asUser(orders, chain.ordersConfig.gatewaySecret, caller)('POST', '/orders', { payload: { item, quantity } });
    if (res.statusCode !== 201) throw new Error(`placing an order failed: ${res.statusCode} ${res.body}`);
    return res.json() as { id: string; user_id: string; item: string; quantity: number; created_at: string };
  };
  const list = async (caller: typeof alice, url = '/notifications') => {
    const res = await asUser(notifications, secret, caller)('GET', url);
    if (res.statusCode !== 200) throw new Error(`listing failed: ${res.statusCode} ${res.body}`);
    return res.json() as NotificationBody[];
  };
  const waitFor = (caller: typeof alice, count: number, timeoutMs = 2_000) =>
    eventually(async () => {
      const rows = await list(caller);
      return rows.length >= count ? rows : undefined;
    }, timeoutMs, `${count} notification(s) for ${caller.id}`);

  const order = await place(alice, 'green umbrella', 2);
  // The contract's bound, not a benchmark: the relay is woken by the insert and the consumer blocks on the stream.
  const [notice] = await waitFor(alice, 1, 2_000);

  await t.test('an order yields one order_placed notification for its user within 2 s', async (t) => {
    t.match(notice, { id: /^[0-9a-f-]{36}$/, user_id: alice.id, type: 'order_placed', read: false });
    t.same(notice!.data, { order_id: order.id, item: 'green umbrella', quantity: 2 });
    t.equal(notice!.created_at, order.created_at, 'dated when the order was placed');
    t.same(Object.keys(notice!).sort(), ['created_at', 'data', 'id', 'read', 'type', 'user_id']);
  });

  await t.test('each user sees only their own notifications; admin too has only their own', async (t) => {
    const bobsOrder = await place(bob, 'yellow boots', 1);
    const bobs = await waitFor(bob, 1);
    t.equal(bobs.length, 1);
    t.equal(bobs[0]!.data.order_id, bobsOrder.id);
    t.same((await list(alice)).map((row) => row.id), [notice!.id], 'alice still sees only hers');
    t.same(await list(admin), [], 'notifications are their recipient’s, whatever the role');
  });

  await t.test('marking read: 204, idempotent, and only for the owner', async (t) => {
    const url = `/notifications/${notice!.id}/read`;
    const asBob = await asUser(notifications, secret, bob)('POST', url);
    t.equal(asBob.statusCode, 404, "another user's notification is not found");
    t.same(asBob.json(), { error: 'not_found', error_description: 'No such notification.' });
    t.equal((await list(alice))[0]!.read, false, 'and stays unread');

    const first = await asUser(notifications, secret, alice)('POST', url);
    t.equal(first.statusCode, 204);
    t.equal(first.body, '');
    t.equal((await list(alice))[0]!.read, true);
    const again = await asUser(notifications, secret, alice)('POST', url);
    t.equal(again.statusCode, 204, 'marking it again is fine');
    t.equal((await list(alice))[0]!.read, true);

    const unknown = await asUser(notifications, secret, alice)('POST', '/notifications/00000000-0000-4000-8000-000000000000/read');
    t.equal(unknown.statusCode, 404);
    t.same(unknown.json(), asBob.json(), 'unknown and foreign look the same');
    const malformed = await asUser(notifications, secret, alice)('POST', '/notifications/not-a-uuid/read');
    t.equal(malformed.statusCode, 400);
    t.equal(malformed.json().error, 'invalid_request');
  });

  await t.test('lists are newest first and page with limit and before', async (t) => {
    const later = await place(alice, 'second', 1);
    const rows = await waitFor(alice, 2);
    t.same(rows.map((row) => row.data.order_id), [later.id, order.id]);
    const page1 = await list(alice, '/notifications?limit=1');
    t.same(page1.map((row) => row.data.order_id), [later.id]);
    const page2 = await list(alice, `/notifications?limit=1&before=${page1[0]!.id}`);
    t.same(page2.map((row) => row.data.order_id), [order.id]);
    t.same(await list(alice, `/notifications?limit=1&before=${page2[0]!.id}`), []);
    const bad = await asUser(notifications, secret, alice)('GET', '/notifications?limit=0');
    t.equal(bad.statusCode, 400);
  });

  await t.test('an event that does not parse is skipped, and the ones after it still arrive', async (t) => {
    await chain.bus.streamAdd('order-events', { event_id: 'not-a-uuid', type: 'order_placed', user_id: alice.id, occurred_at: new Date().toISOString(), payload: '{}' });
    await chain.bus.streamAdd('order-events', { garbage: 'x' });
    const next = await place(bob, 'after the garbage', 3);
    const bobs = await waitFor(bob, 2);
    t.equal(bobs[0]!.data.order_id, next.id);
    t.equal(await metric(notifications, 'notifications_events_consumed_total', 'result="invalid"'), 2);
  });

  await t.test('health, readiness and metrics', async (t) => {
    t.same((await notifications.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    const ready = await notifications.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 200);
    t.same(ready.json(), { status: 'ready', checks: { database: 'ok', bus: 'ok' } });
    t.equal(await metric(notifications, 'notifications_events_consumed_total', 'result="created"'), 4);
    t.equal(await metric(notifications, 'notifications_consumer_failures_total'), 0);
  });
});
