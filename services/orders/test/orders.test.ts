/** The orders API: place, read, list; each user sees only their own orders, admins see all. */
import { test } from 'tap';
import { admin, alice, asUser, bob, buildTestApp } from './helpers.js';

test('orders API', async (t) => {
  // Built standalone (no deps): the app opens and closes its own database and bus.
  const { app, config } = await buildTestApp(t);
  const asAlice = asUser(app, config.gatewaySecret, alice);
  const asBob = asUser(app, config.gatewaySecret, bob);
  const asAdmin = asUser(app, config.gatewaySecret, admin);

  const placed = await asAlice('POST', '/orders', { payload: { item: 'blue teapot', quantity: 3 } });
  const order = placed.json();

  await t.test('POST /orders answers 201 with the order and its location', async (t) => {
    t.equal(placed.statusCode, 201);
    t.match(order, { id: /^[0-9a-f-]{36}$/, user_id: alice.id, item: 'blue teapot', quantity: 3, status: 'placed', created_at: String });
    t.same(Object.keys(order).sort(), ['created_at', 'id', 'item', 'quantity', 'status', 'user_id']);
    t.ok(Math.abs(Date.parse(order.created_at) - Date.now()) < 60_000, 'created_at is an ISO timestamp of now');
    t.equal(placed.headers.location, `/orders/${order.id}`);
  });

  await t.test('the owner reads the order and finds it in their list', async (t) => {
    const one = await asAlice('GET', `/orders/${order.id}`);
    t.equal(one.statusCode, 200);
    t.same(one.json(), order);
    const list = await asAlice('GET', '/orders');
    t.equal(list.statusCode, 200);
    t.same(list.json(), [order]);
  });

  await t.test("another user's order is a 404, exactly like an unknown one, and absent from their list", async (t) => {
    const theirs = await asBob('GET', `/orders/${order.id}`);
    t.equal(theirs.statusCode, 404);
    t.same(theirs.json(), { error: 'not_found', error_description: 'No such order.' });
    const unknown = await asBob('GET', '/orders/00000000-0000-4000-8000-000000000000');
    t.equal(unknown.statusCode, 404);
    t.same(unknown.json(), theirs.json());
    const list = await asBob('GET', '/orders');
    t.equal(list.statusCode, 200);
    t.same(list.json(), []);
  });

  await t.test('admin reads any order and lists everyone’s, newest first', async (t) => {
    const bobs = (await asBob('POST', '/orders', { payload: { item: 'red kettle', quantity: 1 } })).json();
    const one = await asAdmin('GET', `/orders/${order.id}`);
    t.equal(one.statusCode, 200);
    t.same(one.json(), order);
    const list = await asAdmin('GET', '/orders');
    t.equal(list.statusCode, 200);
    t.same(list.json(), [bobs, order]);
    t.same((await asBob('GET', '/orders')).json(), [bobs], 'bob still sees only his own');
  });

  await t.test('lists page with limit and before=<last id>, without overlap or gaps', async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await asBob('POST', '/orders', { payload: { item: `page item ${i}`, quantity: i + 1 } })).json().id);
    const all = (await asBob('GET', '/orders?limit=200')).json() as Array<{ id: string }>;
    t.equal(all.length, 6);
    const seen: string[] = [];
    let url = '/orders?limit=2';
    for (let page = 0; page < 5; page += 1) {
      const res = await asBob('GET', url);
      t.equal(res.statusCode, 200);
      const rows = res.json() as Array<{ id: string }>;
      if (rows.length === 0) break;
      t.ok(rows.length <= 2);
      seen.push(...rows.map((row) => row.id));
      url = `/orders?limit=2&before=${rows[rows.length - 1]!.id}`;
    }
    t.same(seen, all.map((row) => row.id), 'the pages put together are the full list, in order');
    t.same(seen.slice(0, 5), [...ids].reverse(), 'newest first');
    // A cursor the caller may not see gives nothing rather than another user's position in time.
    t.same((await asBob('GET', `/orders?before=${order.id}`)).json(), []);
  });

  await t.test('bad query strings and ids are 400 invalid_request', async (t) => {
    for (const url of ['/orders?limit=0', '/orders?limit=201', '/orders?limit=abc', '/orders?limit=010', '/orders?before=nope', '/orders?extra=1', '/orders/not-a-uuid']) {
      const res = await asAlice('GET', url);
      t.equal(res.statusCode, 400, url);
      t.equal(res.json().error, 'invalid_request', url);
    }
  });
});
