/**
 * POST /orders with Idempotency-Key (contract, "Sample services"): the first request places the
 * order, a repeat of the same request gets the same order back (201, `Idempotent-Replayed: true`)
 * and places nothing, the same key with another request is 422 and changes nothing, keys are per
 * user and count for 24 h, and twenty concurrent identical requests place one order (on the real
 * PostgreSQL under CI). Without the header nothing changes.
 */
import { test } from 'tap';
import { sql } from 'kysely';
import { createDatabase } from '@keygate/db';
import { build } from '../src/app.js';
import { IDEMPOTENCY_KEY_LIFETIME_SECONDS } from '../src/idempotency.js';
import { pruneExpiredKeys } from '../src/repositories/orders.js';
import type { OrdersDatabase } from '../src/repositories/tables.js';
import { alice, asUser, bob, metric, sharedStores, testConfig } from './helpers.js';

const TEAPOT = { item: 'blue teapot', quantity: 2 };

test('POST /orders honours Idempotency-Key', async (t) => {
  const config = await testConfig(t);
  const { bus, pglite } = await sharedStores(t, config);
  const app = await build(config, { bus, ...(pglite ? { pglite } : {}) });
  t.teardown(() => app.close());
  // The same database the app uses, to look at rows and to age a key.
  const database = await createDatabase<OrdersDatabase>({ databaseUrl: config.databaseUrl, pglite });
  t.teardown(() => database.close());
  const db = database.db;
  const asAlice = asUser(app, config.gatewaySecret, alice);
  const asBob = asUser(app, config.gatewaySecret, bob);
  const post = (as: typeof asAlice, key: string | undefined, payload: unknown = TEAPOT) =>
    as('POST', '/orders', { payload: payload as Record<string, unknown>, headers: key === undefined ? {} : { 'idempotency-key': key } });
  const ordersOf = async (userId: string) => (await db.selectFrom('orders.orders').select('id').where('user_id', '=', userId).execute()).map((row) => row.id);
  const eventsFor = async (orderId: string) =>
    Number((await sql<{ count: string }>`select count(*) as count from orders.outbox where payload->>'order_id' = ${orderId}`.execute(db)).rows[0]!.count);

  await t.test('without the header every POST places an order, as before', async (t) => {
    const first = await post(asAlice, undefined);
    const second = await post(asAlice, undefined);
    t.equal(first.statusCode, 201);
    t.equal(second.statusCode, 201);
    t.not(first.json().id, second.json().id, 'two orders');
    t.equal(first.headers['idempotent-replayed'], undefined);
    t.equal(second.headers['idempotent-replayed'], undefined);
  });

  await t.test('the first request with a key places the order; a repeat gets the same answer and places nothing', async (t) => {
    const placedBefore = (await metric(app, 'orders_placed_total')) ?? 0;
    const before = (await ordersOf(alice.id)).length;
    const first = await post(asAlice, '"key-happy-1"');
    t.equal(first.statusCode, 201);
    t.equal(first.headers['idempotent-replayed'], undefined, 'the first answer is not a replay');
    const order = first.json();
    t.match(order, { user_id: alice.id, item: TEAPOT.item, quantity: TEAPOT.quantity, status: 'placed' });
    for (const key of ['"key-happy-1"', 'key-happy-1']) {
      const again = await post(asAlice, key);
      t.equal(again.statusCode, 201, `${key}: the same status`);
      t.same(again.json(), order, 'the same order, byte for byte');
      t.equal(again.headers.location, `/orders/${order.id}`);
      t.equal(again.headers['idempotent-replayed'], 'true', 'marked as a replay');
    }
    // The same request in other JSON clothes (member order, whitespace) is the same request.
    const reordered = await asAlice('POST', '/orders', {
      payload: ` { "quantity" : ${TEAPOT.quantity}, "item" : "${TEAPOT.item}" } `,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'key-happy-1' },
    });
    t.equal(reordered.statusCode, 201);
    t.equal(reordered.json().id, order.id);
    t.equal((await ordersOf(alice.id)).length, before + 1, 'one order in the database');
    t.equal(await eventsFor(order.id), 1, 'one order_placed event');
    t.equal(await metric(app, 'orders_placed_total'), placedBefore + 1, 'counted once');
  });

  await t.test('the same key with another request is 422 idempotency_key_reused and changes nothing', async (t) => {
    const first = await post(asAlice, 'key-mismatch-1');
    t.equal(first.statusCode, 201);
    const before = await ordersOf(alice.id);
    for (const other of [{ item: 'red kettle', quantity: 2 }, { item: TEAPOT.item, quantity: 3 }]) {
      const res = await post(asAlice, 'key-mismatch-1', other);
      t.equal(res.statusCode, 422, JSON.stringify(other));
      t.same(res.json(), {
        error: 'idempotency_key_reused',
        error_description: 'This Idempotency-Key was already used for a different request; send a new key for a new order.',
      });
      t.equal(res.headers['idempotent-replayed'], undefined);
    }
    t.same(await ordersOf(alice.id), before, 'no order placed');
    const original = await post(asAlice, 'key-mismatch-1');
    t.equal(original.json().id, first.json().id, 'the key still answers its own request');
  });

  await t.test('keys are per user: the same key from another user is independent', async (t) => {
    const alices = await post(asAlice, 'shared-key');
    const bobs = await post(asBob, 'shared-key', { item: 'green mug', quantity: 1 });
    t.equal(alices.statusCode, 201);
    t.equal(bobs.statusCode, 201, 'not a 422: not the same key');
    t.equal(bobs.headers['idempotent-replayed'], undefined, 'not a replay of alice’s order');
    t.match(bobs.json(), { user_id: bob.id, item: 'green mug' });
    const bobsSame = await post(asBob, 'shared-key', TEAPOT);
    t.equal(bobsSame.statusCode, 422, 'bob’s key is bound to bob’s first request, not to alice’s');
    t.equal((await post(asAlice, 'shared-key')).json().id, alices.json().id);
  });

  await t.test('a malformed key is 400 invalid_request and places nothing', async (t) => {
    const before = await ordersOf(alice.id);
    for (const key of ['""', '"a\\"b"', 'a b', 'a,b', 'k'.repeat(256)]) {
      const res = await post(asAlice, key);
      t.equal(res.statusCode, 400, key.slice(0, 20));
      t.equal(res.json().error, 'invalid_request');
    }
    t.same(await ordersOf(alice.id), before);
  });

  await t.test('20 concurrent identical requests place one order and all get it', async (t) => {
    const before = (await ordersOf(alice.id)).length;
    const replies = await Promise.all(Array.from({ length: 20 }, () => post(asAlice, '"concurrent-1"', { item: 'racing teapot', quantity: 7 })));
    t.same(replies.map((res) => res.statusCode), Array(20).fill(201), 'every one 201');
    const ids = new Set(replies.map((res) => res.json().id as string));
    t.equal(ids.size, 1, 'one order id in every answer');
    t.equal(replies.filter((res) => res.headers['idempotent-replayed'] === 'true').length, 19, 'nineteen replays');
    t.equal((await ordersOf(alice.id)).length, before + 1, 'one order in the database');
    t.equal(await eventsFor([...ids][0]!), 1, 'one event');
  });

  await t.test('a key counts for 24 hours: an older one places a new order, and is purged', async (t) => {
    const first = (await post(asAlice, 'old-key')).json();
    const age = async (key: string) =>
      db
        .updateTable('orders.idempotency_keys')
        .set({ created_at: sql<Date>`now() - make_interval(secs => ${IDEMPOTENCY_KEY_LIFETIME_SECONDS + 60})` })
        .where('user_id', '=', alice.id)
        .where('key', '=', key)
        .execute();
    await age('old-key');
    const later = await post(asAlice, 'old-key', { item: 'new teapot', quantity: 1 });
    t.equal(later.statusCode, 201, 'not a 422: the old key no longer counts');
    t.not(later.json().id, first.id, 'a new order');
    t.equal(later.headers['idempotent-replayed'], undefined);
    t.equal((await post(asAlice, 'old-key', { item: 'new teapot', quantity: 1 })).json().id, later.json().id, 'and the key now answers the new request');

    await post(asAlice, 'to-purge');
    await age('to-purge');
    const keyOf = (key: string) => db.selectFrom('orders.idempotency_keys').select('key').where('user_id', '=', alice.id).where('key', '=', key).executeTakeFirst();
    t.ok(await keyOf('to-purge'));
    t.equal(await pruneExpiredKeys(db, IDEMPOTENCY_KEY_LIFETIME_SECONDS, 1_000), 1, 'one expired key pruned');
    t.equal(await keyOf('to-purge'), undefined, 'gone');
    t.ok(await keyOf('old-key'), 'a live key is kept');
  });
});
