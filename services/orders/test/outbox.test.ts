/**
 * The transactional outbox: every placed order puts exactly one `order_placed` event on the bus
 * stream `order-events` (two relaying instances do not double-send), and while the bus is down
 * orders still succeed, their events wait in the outbox and go out once it is back; relayed events
 * are pruned after their retention.
 */
import { randomUUID } from 'node:crypto';
import { test } from 'tap';
import type { Bus, StreamEntry } from '@keygate/bus';
import { createDatabase } from '@keygate/db';
import { build } from '../src/app.js';
import { startOutboxRelay } from '../src/outbox-relay.js';
import type { OrdersDatabase } from '../src/repositories/tables.js';
import { alice, asUser, bob, eventually, metric, sharedStores, sleep, testConfig } from './helpers.js';

const STREAM = 'order-events';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A bus whose stream writes and ping fail while `down` is set, as if Redis were unreachable. */
function switchableBus(inner: Bus): { bus: Bus; setDown(down: boolean): void } {
  let down = false;
  const failing = new Set<PropertyKey>(['streamAdd', 'ping']);
  const bus = new Proxy(inner, {
    get(target, property) {
      if (down && failing.has(property)) return async () => Promise.reject(Object.assign(new Error('Redis did not answer.'), { code: 'ERR_BUS_UNAVAILABLE' }));
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { bus, setDown: (value) => (down = value) };
}

/** Reads everything currently on the stream through a test-only consumer group. */
async function drain(bus: Bus, group: string): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  for (;;) {
    const entries = await bus.streamReadGroup(STREAM, group, 'test-reader', { count: 100 });
    if (entries.length === 0) return out;
    await bus.streamAck(STREAM, group, entries.map((entry) => entry.id));
    out.push(...entries);
  }
}

test('outbox relay', async (t) => {
  const config = await testConfig(t);
  // Without DATABASE_URL both instances must share one PGlite, as in the embedded stack.
  const { bus: sharedBus, pglite } = await sharedStores(t, config);

  await t.test('each order yields exactly one well-formed event, even with two instances relaying', async (t) => {
    await sharedBus.streamEnsureGroup(STREAM, 'test-exactly-one');
    const first = await build(config, { bus: sharedBus, pglite });
    const second = await build(config, { bus: sharedBus, pglite });
    t.teardown(() => Promise.all([first.close(), second.close()]));
    const placed = new Map<string, { id: string; user_id: string; item: string; quantity: number; created_at: string }>();
    for (let i = 0; i < 20; i += 1) {
      const app = i % 2 === 0 ? first : second;
      const res = await asUser(app, config.gatewaySecret, i % 3 === 0 ? bob : alice)('POST', '/orders', { payload: { item: `item ${i}`, quantity: i + 1 } });
      t.equal(res.statusCode, 201);
      placed.set(res.json().id, res.json());
    }
    const entries: StreamEntry[] = [];
    await eventually(async () => {
      entries.push(...(await drain(sharedBus, 'test-exactly-one')));
      return entries.length >= placed.size ? true : undefined;
    }, 5_000, 'the events of 20 orders');
    // Both relays keep ticking: give them a few more rounds to show they send nothing twice.
    await sleep(600);
    entries.push(...(await drain(sharedBus, 'test-exactly-one')));
    t.equal(entries.length, 20, 'exactly one stream entry per order');

    const eventIds = new Set<string>();
    for (const { fields } of entries) {
      t.same(Object.keys(fields).sort(), ['event_id', 'occurred_at', 'payload', 'type', 'user_id']);
      t.match(fields.event_id, UUID);
      eventIds.add(fields.event_id!);
      t.equal(fields.type, 'order_placed');
      const payload = JSON.parse(fields.payload!) as { order_id: string; item: string; quantity: number };
      const order = placed.get(payload.order_id);
      t.ok(order, 'the event names a placed order');
      t.same(payload, { order_id: order?.id, item: order?.item, quantity: order?.quantity });
      t.equal(fields.user_id, order?.user_id, 'for the user who placed it');
      t.equal(fields.occurred_at, order?.created_at, 'at the time it was placed');
    }
    t.equal(eventIds.size, 20, 'event ids are unique');
    t.same(new Set(entries.map((entry) => JSON.parse(entry.fields.payload!).order_id)), new Set(placed.keys()));
    await eventually(async () => ((await metric(first, 'orders_outbox_backlog')) === 0 ? true : undefined), 5_000, 'an empty outbox backlog');
  });

  await t.test('while the bus is down orders still succeed and their events wait in the outbox', async (t) => {
    await sharedBus.streamEnsureGroup(STREAM, 'test-outage');
    await drain(sharedBus, 'test-outage');
    const { bus, setDown } = switchableBus(sharedBus);
    const app = await build(config, { bus, pglite });
    t.teardown(() => app.close());
    setDown(true);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await asUser(app, config.gatewaySecret, alice)('POST', '/orders', { payload: { item: `during outage ${i}`, quantity: 1 } });
      t.equal(res.statusCode, 201, 'placing an order does not need the bus');
      ids.push(res.json().id);
    }
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 503);
    t.same(ready.json(), { status: 'unavailable', checks: { database: 'ok', bus: 'unavailable' } });
    await eventually(async () => ((await metric(app, 'orders_outbox_relay_failures_total')) ?? 0) > 0 || undefined, 5_000, 'a failed relay round');
    t.equal(await metric(app, 'orders_outbox_backlog'), 5, 'the five events wait in the outbox');
    t.same(await drain(sharedBus, 'test-outage'), [], 'none reached the stream');

    setDown(false);
    const entries: StreamEntry[] = [];
    await eventually(async () => {
      entries.push(...(await drain(sharedBus, 'test-outage')));
      return entries.length >= 5 ? true : undefined;
    }, 10_000, 'the waiting events after the bus came back');
    t.same(entries.map((entry) => JSON.parse(entry.fields.payload!).order_id).sort(), [...ids].sort(), 'all five went out once it was back');
    // The relay marks them relayed in the transaction that sent them, which may commit a moment later.
    await eventually(async () => ((await metric(app, 'orders_outbox_backlog')) === 0 ? true : undefined), 5_000, 'an empty outbox backlog');
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });

  await t.test('relayed events are pruned once past their retention; recent ones stay', async (t) => {
    const app = await build(config, { bus: sharedBus, pglite });
    const log = app.log;
    await app.close();
    const database = await createDatabase<OrdersDatabase>({ databaseUrl: config.databaseUrl, pglite });
    t.teardown(() => database.close());
    const event = (relayedAgoMs: number) => ({
      event_id: randomUUID(),
      type: 'order_placed',
      user_id: alice.id,
      payload: '{}',
      relayed_at: new Date(Date.now() - relayedAgoMs),
    });
    const old = event(120_000);
    const recent = event(1_000);
    await database.db.insertInto('orders.outbox').values([old, recent]).execute();
    const relay = startOutboxRelay({ db: database.db, bus: sharedBus, log, retentionMs: 60_000, pruneEveryMs: 0 });
    t.teardown(() => relay.stop());
    const remaining = async () => (await database.db.selectFrom('orders.outbox').select('event_id').where('event_id', 'in', [old.event_id, recent.event_id]).execute()).map((row) => row.event_id);
    await eventually(async () => ((await remaining()).length === 1 ? true : undefined), 5_000, 'the old event to be pruned');
    t.same(await remaining(), [recent.event_id], 'only the event relayed within the retention is kept');
  });
});
