/**
 * One behavioural suite, run against the in-memory bus always and against Redis when REDIS_URL is
 * set: the twin is only useful if it cannot drift from the real thing. Every run uses a random key
 * prefix so parallel test files sharing one Redis never see each other's keys or channels.
 */
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { openRedisConnection } from '../src/connection.js';
import { BusError, createMemoryBus, createMemoryHub, createRedisBus, type Bus } from '../src/index.js';

interface Backend {
  kind: 'memory' | 'redis';
  keyPrefix: string;
  /** A new bus on the shared backend: "another process" for Redis, another view of one hub for memory. */
  open(options?: { onError?: (error: Error) => void; keyPrefix?: string }): Bus;
  /** Drops every subscriber connection of this run's buses (Redis only). */
  killSubscribers?: () => Promise<void>;
  /** Drops every command connection of this run's buses (Redis only). */
  killCommands?: () => Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the value of `promise`, or rejects after ms so a broken bus fails fast instead of hanging the file. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records messages; `next()` waits for the next one. */
function collector() {
  const messages: string[] = [];
  const waiting: Array<() => void> = [];
  return {
    messages,
    handler: (message: string): void => {
      messages.push(message);
      for (const wake of waiting.splice(0)) wake();
    },
    async waitFor(count: number, what = `${count} message(s)`): Promise<string[]> {
      await within(
        3_000,
        (async () => {
          while (messages.length < count) await new Promise<void>((resolve) => waiting.push(resolve));
        })(),
        what,
      );
      return messages;
    },
  };
}

function parseId(id: string): [number, number] {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (!match) throw new Error(`bad id ${id}`);
  return [Number(match[1]), Number(match[2])];
}

function behaviour(t: Test, backend: Backend): void {
  const opened: Bus[] = [];
  const open = (options?: Parameters<Backend['open']>[0]): Bus => {
    const bus = backend.open(options);
    opened.push(bus);
    return bus;
  };
  t.teardown(async () => {
    await Promise.all(opened.map((bus) => bus.close()));
  });

  t.test('kind, ping, the connection and the counters', async (t) => {
    const bus = open();
    t.equal(bus.kind, backend.kind);
    await t.resolves(bus.ping());
    t.equal(bus.connection.isConnected(), true);
    if (backend.kind === 'memory') {
      t.equal(bus.counters, undefined, 'one process counts alone: no shared counters');
      return;
    }
    const other = open();
    await other.ping();
    const [first] = await bus.counters!.hitWindows([{ key: 'hits', increment: 2, windowMs: 60_000 }]);
    const [second, third] = await other.counters!.hitWindows([
      { key: 'hits', increment: 1, windowMs: 60_000 },
      { key: 'other', increment: 1, windowMs: 1_000 },
    ]);
    t.match(first, { total: 2 });
    t.match(second, { total: 3 }, 'another bus adds to the same counter');
    t.ok(!(second instanceof Error) && second!.ttlMs > 55_000 && second!.ttlMs <= 60_000, 'the window the first hit started');
    t.match(third, { total: 1 }, 'keys count apart');
    // A hit with a request id counts once per key and window; the repeat reads the count.
    const [once, again, another] = await other.counters!.hitWindows([
      { key: 'hits', increment: 1, windowMs: 60_000, once: 'request-1' },
      { key: 'hits', increment: 1, windowMs: 60_000, once: 'request-1' },
      { key: 'hits', increment: 1, windowMs: 60_000, once: 'request-2' },
    ]);
    t.match(once, { total: 4 }, 'the first hit of an id counts');
    t.match(again, { total: 4 }, 'its repeat adds nothing');
    t.match(another, { total: 5 }, 'another id counts');
    const [elsewhere] = await bus.counters!.hitWindows([{ key: 'elsewhere', increment: 1, windowMs: 60_000, once: 'request-1' }]);
    t.match(elsewhere, { total: 1 }, 'an id counts once per key, not once overall');
  });

  t.test('connection events: down when the command connection drops, ready when it is back', async (t) => {
    const bus = open();
    await bus.ping();
    if (!backend.killCommands) {
      t.equal(bus.connection.isConnected(), true, 'memory is always connected');
      return;
    }
    const events: string[] = [];
    let ready: () => void = () => {};
    const back = new Promise<void>((resolve) => (ready = resolve));
    const removeDown = bus.connection.onDown(() => events.push(`down:${String(bus.connection.isConnected())}`));
    const removeReady = bus.connection.onReady(() => {
      events.push(`ready:${String(bus.connection.isConnected())}`);
      ready();
    });
    await backend.killCommands();
    await within(5_000, back, 'onReady after CLIENT KILL');
    t.same(events.slice(0, 1), ['down:false'], 'down first, and not connected then');
    t.equal(events.at(-1), 'ready:true', 'then ready, and connected again');
    removeDown();
    removeReady();
    const seen = events.length;
    await backend.killCommands();
    await sleep(500);
    t.equal(events.length, seen, 'removed handlers are not called');
    await bus.close();
    t.equal(bus.connection.isConnected(), false, 'a closed bus is not connected');
  });

  t.test('publish reaches subscribers of every bus; unsubscribe stops delivery', async (t) => {
    const publisher = open();
    const listener = open();
    const remote = collector();
    const local = collector();
    const unsubscribeRemote = await listener.subscribe('greetings', remote.handler);
    const unsubscribeLocal = await publisher.subscribe('greetings', local.handler);

    await publisher.publish('greetings', 'hello');
    t.same(await remote.waitFor(1), ['hello'], 'the other bus got it');
    t.same(await local.waitFor(1), ['hello'], 'the publishing bus got it too');

    // Two handlers on one channel of one bus; removing one keeps the other (and the SUBSCRIBE) alive.
    const second = collector();
    const unsubscribeSecond = await listener.subscribe('greetings', second.handler);
    await unsubscribeRemote();
    await unsubscribeRemote(); // idempotent
    await publisher.publish('greetings', 'again');
    t.same(await second.waitFor(1), ['again']);
    t.same(remote.messages, ['hello'], 'the unsubscribed handler got nothing more');

    await unsubscribeSecond();
    await unsubscribeLocal();
    await publisher.publish('greetings', 'nobody');
    await sleep(100);
    t.same(second.messages, ['again']);
    t.same(local.messages, ['hello', 'again']);
  });

  t.test('a throwing handler goes to onError and does not break the bus', async (t) => {
    const errors: Error[] = [];
    const bus = open({ onError: (error) => errors.push(error) });
    const good = collector();
    await bus.subscribe('fragile', () => {
      throw new Error('handler bug');
    });
    await bus.subscribe('fragile', async () => {
      throw new Error('async handler bug');
    });
    await bus.subscribe('fragile', good.handler);
    await bus.publish('fragile', 'one');
    await bus.publish('fragile', 'two');
    t.same(await good.waitFor(2), ['one', 'two']);
    await sleep(20);
    t.same(errors.map((error) => error.message).sort(), ['async handler bug', 'async handler bug', 'handler bug', 'handler bug']);
  });

  t.test('key prefixes isolate channels, sets and streams', async (t) => {
    const mine = open();
    const other = open({ keyPrefix: `${backend.keyPrefix}other:` });
    const heard = collector();
    await other.subscribe('isolated', heard.handler);
    await mine.publish('isolated', 'not for you');
    await mine.addExpiring('isolated-set', 'm', Date.now() + 60_000);
    await mine.streamAdd('isolated-stream', { a: '1' });
    await sleep(100);
    t.same(heard.messages, []);
    t.same(await other.listExpiring('isolated-set'), []);
    t.same(await other.streamReadGroup('isolated-stream', 'g', 'c'), []);
  });

  t.test('expiring set: expiry, re-add keeps the later expiry', async (t) => {
    const bus = open();
    const now = Date.now();
    await bus.addExpiring('revoked', 'short', now + 150);
    await bus.addExpiring('revoked', 'long', now + 60_000);
    t.same(await bus.listExpiring('revoked'), [
      { member: 'short', expiresAtMs: now + 150 },
      { member: 'long', expiresAtMs: now + 60_000 },
    ]);
    t.same(await open().listExpiring('revoked'), await bus.listExpiring('revoked'), 'another bus sees the same set');
    t.same(await bus.listExpiring('revoked', now + 1_000), [{ member: 'long', expiresAtMs: now + 60_000 }], 'nowMs in the future');
    t.same(
      (await bus.listExpiring('revoked')).map((m) => m.member),
      ['short', 'long'],
      'asking about the future did not prune the present',
    );

    await bus.addExpiring('revoked', 'long', now + 30_000);
    t.equal((await bus.listExpiring('revoked')).find((m) => m.member === 'long')?.expiresAtMs, now + 60_000, 'earlier expiry ignored');
    await bus.addExpiring('revoked', 'long', now + 90_000);
    t.equal((await bus.listExpiring('revoked')).find((m) => m.member === 'long')?.expiresAtMs, now + 90_000, 'later expiry kept');

    await bus.addExpiring('revoked', 'already-gone', now - 1);
    await sleep(200);
    t.same(await bus.listExpiring('revoked'), [{ member: 'long', expiresAtMs: now + 90_000 }], 'expired members are gone');
    await bus.addExpiring('revoked', 'short', Date.now() + 60_000);
    t.same((await bus.listExpiring('revoked')).map((m) => m.member), ['short', 'long'], 'an expired member can be added again');

    await t.rejects(bus.addExpiring('revoked', 'x', Number.NaN), { code: 'ERR_BUS_INVALID_ARGUMENT' });
  });

  t.test('stream: add, read, ack; ids increase', async (t) => {
    const bus = open();
    await bus.streamEnsureGroup('orders', 'notify');
    await bus.streamEnsureGroup('orders', 'notify'); // idempotent
    const ids: string[] = [];
    for (let i = 0; i < 30; i += 1) ids.push(await bus.streamAdd('orders', { n: String(i), kind: 'order_placed' }));
    for (let i = 1; i < ids.length; i += 1) {
      const [ms, seq] = parseId(ids[i]!);
      const [prevMs, prevSeq] = parseId(ids[i - 1]!);
      t.ok(ms > prevMs || (ms === prevMs && seq > prevSeq), `${ids[i]} > ${ids[i - 1]}`);
    }

    const first = await bus.streamReadGroup('orders', 'notify', 'worker-1', { count: 20 });
    t.same(
      first.map((e) => e.id),
      ids.slice(0, 20),
    );
    t.same(first[3]?.fields, { n: '3', kind: 'order_placed' });
    await bus.streamAck('orders', 'notify', first.slice(0, 15).map((e) => e.id));

    const again = await bus.streamReadGroup('orders', 'notify', 'worker-1', { count: 20 });
    t.same(
      again.map((e) => e.id),
      ids.slice(15, 20),
      'own unacked entries come first',
    );
    await bus.streamAck('orders', 'notify', again.map((e) => e.id));
    const rest = await bus.streamReadGroup('orders', 'notify', 'worker-1', { count: 20 });
    t.same(
      rest.map((e) => e.id),
      ids.slice(20),
      'then new ones',
    );
    await bus.streamAck('orders', 'notify', rest.map((e) => e.id));
    await bus.streamAck('orders', 'notify', []);
    t.same(await bus.streamReadGroup('orders', 'notify', 'worker-1'), [], 'nothing left');

    // A second group reads the whole stream independently.
    await bus.streamEnsureGroup('orders', 'audit');
    t.equal((await bus.streamReadGroup('orders', 'audit', 'a', { count: 100 })).length, 30);

    await t.rejects(bus.streamAdd('orders', {}), { code: 'ERR_BUS_INVALID_ARGUMENT' });
    await t.rejects(bus.streamAdd('orders', { a: '1' }, { maxLen: 0 }), { code: 'ERR_BUS_INVALID_ARGUMENT' });
  });

  t.test('a read without the group creates it from the start of the stream', async (t) => {
    const bus = open();
    const id = await bus.streamAdd('groupless', { a: '1' });
    t.same(
      (await bus.streamReadGroup('groupless', 'late', 'c')).map((e) => e.id),
      [id],
    );
  });

  t.test('unacked entries are redelivered to the same consumer after a crash', async (t) => {
    const first = open();
    await first.streamEnsureGroup('outbox', 'g');
    const a = await first.streamAdd('outbox', { event: 'a' });
    const b = await first.streamAdd('outbox', { event: 'b' });
    t.same(
      (await first.streamReadGroup('outbox', 'g', 'notifications-1')).map((e) => e.id),
      [a, b],
    );
    await first.close(); // "crash" before acking

    const restarted = open();
    const redelivered = await restarted.streamReadGroup('outbox', 'g', 'notifications-1');
    t.same(
      redelivered.map((e) => e.id),
      [a, b],
    );
    t.same(
      redelivered.map((e) => e.fields),
      [{ event: 'a' }, { event: 'b' }],
    );
    await restarted.streamAck('outbox', 'g', [a, b]);
    t.same(await restarted.streamReadGroup('outbox', 'g', 'notifications-1'), []);
  });

  t.test("another consumer claims entries idle longer than claimIdleMs", async (t) => {
    const bus = open();
    await bus.streamEnsureGroup('claims', 'g');
    const id = await bus.streamAdd('claims', { event: 'stuck' });
    t.same(
      (await bus.streamReadGroup('claims', 'g', 'crashed')).map((e) => e.id),
      [id],
    );

    const other = open();
    t.same(await other.streamReadGroup('claims', 'g', 'healthy', { claimIdleMs: 5_000 }), [], 'not idle long enough yet');
    await sleep(150);
    const claimed = await other.streamReadGroup('claims', 'g', 'healthy', { claimIdleMs: 100 });
    t.same(
      claimed.map((e) => e.id),
      [id],
    );
    t.same(await bus.streamReadGroup('claims', 'g', 'crashed', { claimIdleMs: 60_000 }), [], 'no longer the first consumer’s');
    t.same(
      (await other.streamReadGroup('claims', 'g', 'healthy')).map((e) => e.id),
      [id],
      'now pending for the claimer until acked',
    );
    await other.streamAck('claims', 'g', [id]);
    t.same(await other.streamReadGroup('claims', 'g', 'healthy', { claimIdleMs: 0 }), []);
  });

  t.test('a blocking read is woken by an add and does not block other commands', async (t) => {
    const reader = open();
    const writer = open();
    await reader.streamEnsureGroup('wake', 'g');
    const started = Date.now();
    const pending = reader.streamReadGroup('wake', 'g', 'c', { blockMs: 5_000 });
    await sleep(100);
    // The reader's own bus still answers while its read is blocked.
    await within(500, reader.ping(), 'ping during a blocking read');
    await within(500, reader.publish('irrelevant', 'x'), 'publish during a blocking read');
    const id = await writer.streamAdd('wake', { a: '1' });
    const entries = await within(3_000, pending, 'the blocked read');
    t.same(
      entries.map((e) => e.id),
      [id],
    );
    t.ok(Date.now() - started < 2_000, 'woken well before blockMs');

    const before = Date.now();
    t.same(await reader.streamReadGroup('wake', 'g', 'c2', { blockMs: 200 }), [], 'times out empty');
    t.ok(Date.now() - before >= 150, 'waited about blockMs');
  });

  t.test('close resolves a blocking read, is idempotent, and later calls reject', async (t) => {
    const bus = open();
    await bus.streamEnsureGroup('closing', 'g');
    const pending = bus.streamReadGroup('closing', 'g', 'c', { blockMs: 10_000 });
    await sleep(50);
    const started = Date.now();
    await bus.close();
    await bus.close();
    t.same(await within(2_000, pending, 'the read to resolve on close'), []);
    t.ok(Date.now() - started < 2_000);
    const rejected = bus.publish('x', 'y');
    await t.rejects(rejected, { code: 'ERR_BUS_CLOSED' });
    await rejected.catch((error: unknown) => t.ok(error instanceof BusError));
    await t.rejects(bus.listExpiring('s'), { code: 'ERR_BUS_CLOSED' });
    await t.rejects(bus.ping(), { code: 'ERR_BUS_CLOSED' });
  });

  t.test('onResubscribed', async (t) => {
    const publisher = open();
    const listener = open();
    let resubscribed = 0;
    let wake: (() => void) | undefined;
    const remove = listener.onResubscribed(() => {
      resubscribed += 1;
      wake?.();
    });
    const heard = collector();
    await listener.subscribe('revocations', heard.handler);
    await sleep(100);
    t.equal(resubscribed, 0, 'not called for the first connect');

    if (!backend.killSubscribers) {
      remove();
      t.pass('memory never loses its subscriptions');
      return;
    }
    const called = new Promise<void>((resolve) => (wake = resolve));
    await backend.killSubscribers();
    await within(5_000, called, 'onResubscribed after CLIENT KILL');
    t.equal(resubscribed, 1);
    await publisher.publish('revocations', 'after-reconnect');
    t.same(await heard.waitFor(1), ['after-reconnect'], 'subscription active again');

    remove();
    await backend.killSubscribers();
    await sleep(500);
    t.equal(resubscribed, 1, 'a removed handler is not called');
  });
}

const runId = randomUUID().slice(0, 8);

t.test('memory', async (t) => {
  const hub = createMemoryHub();
  const keyPrefix = `test:${runId}:`;
  behaviour(t, {
    kind: 'memory',
    keyPrefix,
    open: (options) => createMemoryBus({ hub, keyPrefix, ...options }),
  });
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  t.test('redis', async (t) => {
    const keyPrefix = `test:${runId}:`;
    const admin = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    t.teardown(async () => {
      // Leave nothing behind in the shared Redis.
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await admin.del(...keys);
      } while (cursor !== '0');
      await admin.quit();
    });
    behaviour(t, {
      kind: 'redis',
      keyPrefix,
      open: (options) => createRedisBus({ url: redisUrl, keyPrefix, ...options }),
      async killCommands() {
        const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'normal'));
        for (const line of list.split('\n').filter((entry) => entry.includes(` name=keygate-bus:cmd:${keyPrefix} `))) {
          const id = /(?:^|\s)id=(\d+)/.exec(line)?.[1];
          if (id !== undefined) await admin.call('CLIENT', 'KILL', 'ID', id);
        }
      },
      async killSubscribers() {
        // CLIENT KILL TYPE pubsub, narrowed by ID to this run's subscribers (named after the prefix),
        // so parallel test files on the same Redis keep their connections.
        const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
        const ids = list
          .split('\n')
          .filter((line) => line.includes(` name=keygate-bus:sub:${keyPrefix} `))
          .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
          .filter((id): id is string => id !== undefined);
        if (ids.length === 0) throw new Error('no subscriber connection found to kill');
        for (const id of ids) await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id);
      },
    });
  });
} else if (process.env.CI === 'true') {
  t.fail('REDIS_URL must be set in CI: the Redis half of the bus suite cannot be skipped there');
} else {
  t.test('redis', { skip: 'REDIS_URL is not set; run with REDIS_URL=redis://127.0.0.1:6379 to test the Redis bus' }, async () => {});
}

t.test('Redis unreachable: reconnects every 0.1-0.2 s, and reports the repeated error once', async (t) => {
  const errors: Error[] = [];
  // Port 1 refuses connections at once, like a Redis that was killed.
  const connection = openRedisConnection({ url: 'redis://127.0.0.1:1', role: 'cmd', prefix: 'unreachable:', report: (error) => errors.push(error) });
  const delays: number[] = [];
  connection.on('reconnecting', (ms: number) => delays.push(ms));
  await sleep(1_500);
  connection.disconnect();
  t.ok(delays.length >= 6, `${delays.length} reconnect attempts in 1.5 s`);
  t.ok(
    delays.every((ms) => ms >= 100 && ms < 200),
    `every delay within 100-200 ms, so a returning Redis is found within 0.2 s (${delays.join(', ')})`,
  );
  t.equal(errors.length, 1, 'ECONNREFUSED reached onError once, not once per attempt');
});

t.test('Sentinel URL: asks the named sentinels for the named primary, and keeps retrying while none answers', async (t) => {
  const errors: Error[] = [];
  const connection = openRedisConnection({
    url: 'redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/mymaster?db=2',
    role: 'cmd',
    prefix: 'sentinel:',
    report: (error) => errors.push(error),
  });
  t.teardown(() => connection.disconnect());
  const { sentinels, name, password, db } = connection.options;
  t.same(
    { sentinels, name, password, db },
    { sentinels: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }], name: 'mymaster', password: 'pw', db: 2 },
    'the URL became ioredis sentinel options',
  );
  await sleep(700);
  t.not(connection.status, 'end', 'the connection is still retrying, not given up');
  t.match(errors[0]?.message ?? '', /All sentinels are unreachable\. Retrying from scratch after 1\d\dms/, 'retried every 0.1-0.2 s, as without Sentinel');
});

t.test('memory: a capped stream drops its oldest entries, pending ones included, and reads go on from the right place', async (t) => {
  // Redis trims `MAXLEN ~` by whole nodes (nothing at this size), so this is the memory bus's own exact cap.
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const ids: string[] = [];
  for (const n of ['0', '1']) ids.push(await bus.streamAdd('capped', { n }, { maxLen: 3 }));
  t.same((await bus.streamReadGroup('capped', 'g', 'crashed')).map((e) => e.id), ids, 'two delivered, never acked');
  for (const n of ['2', '3', '4']) ids.push(await bus.streamAdd('capped', { n }, { maxLen: 3 }));
  const next = await bus.streamReadGroup('capped', 'g', 'crashed', { count: 10 });
  t.same(next.map((e) => e.fields.n), ['2', '3', '4'], 'the trimmed pending entries are not redelivered; the new ones follow');
  await bus.streamAck('capped', 'g', next.map((e) => e.id));
  t.same(await bus.streamReadGroup('capped', 'g', 'other', { claimIdleMs: 0 }), [], 'nor left for another consumer to claim');
  await bus.streamEnsureGroup('capped', 'late');
  t.same((await bus.streamReadGroup('capped', 'late', 'c', { count: 10 })).map((e) => e.id), ids.slice(2), 'a new group starts at the oldest entry kept');
});

t.test('useServiceBus closes only a bus it opened, once', async (t) => {
  const { useServiceBus } = await import('../src/index.js');
  const shared = createMemoryBus({ keyPrefix: 'kgt_use:' });
  const borrowed = useServiceBus(shared, { keyPrefix: 'kgt_use:' });
  t.equal(borrowed.bus, shared, 'the shared bus is used as it is');
  await borrowed.release();
  await t.resolves(shared.ping(), 'and is still open after release');
  await shared.close();

  const owned = useServiceBus(undefined, { keyPrefix: 'kgt_use:' });
  await t.resolves(owned.bus.ping());
  await Promise.all([owned.release(), owned.release()]);
  await t.rejects(owned.bus.ping(), 'an opened bus is closed by release');
});
