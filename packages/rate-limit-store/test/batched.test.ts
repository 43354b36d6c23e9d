/**
 * The batched store against a real Redis (skipped without REDIS_URL): hits are answered from
 * memory at once, shared through one pipelined call per interval, windows restart when they end,
 * and a Redis that is away leaves counting local instead of failing or waiting.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { Redis } from 'ioredis';
import { createRedisBus } from '@keygate/bus';
import { batchedRateLimitStore } from '../src/index.js';

const redisUrl = process.env.REDIS_URL || undefined;

type Hit = { current: number; ttl: number };
type Store = { incr(key: string, callback: (error: Error | null, result?: Hit) => void, timeWindow: number, max: number): void };

function hit(store: Store, key: string, windowMs: number): Hit {
  let result: Hit | undefined;
  store.incr(key, (error, value) => {
    if (error) throw error;
    result = value;
  }, windowMs, 1_000);
  // The answer comes synchronously: no request waits on Redis.
  if (!result) throw new Error('incr did not answer synchronously');
  return result;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batched store (3 counters, no periodic sync) over a Redis bus of its own key prefix; both closed when `t` ends. */
function batchedOnOwnRedisPrefix(t: { teardown(fn: () => unknown): void }) {
  const bus = createRedisBus({ url: redisUrl!, keyPrefix: `kgt_rls_${randomUUID().slice(0, 8)}:` });
  const batched = batchedRateLimitStore(bus.counters!, '', { syncIntervalMs: 60_000, maxCounters: 3 });
  t.teardown(async () => {
    batched.close();
    await bus.close();
  });
  return batched;
}

t.test('two stores (two instances) share totals through Redis; windows restart; Redis away keeps counting local', { skip: redisUrl ? false : 'needs REDIS_URL' }, async (t) => {
  const prefix = `kgt_rls_${randomUUID().slice(0, 8)}:`;
  // Two buses are two instances; the counters live under the bus's keyPrefix.
  const busA = createRedisBus({ url: redisUrl!, keyPrefix: prefix });
  const busB = createRedisBus({ url: redisUrl!, keyPrefix: prefix });
  const redisA = new Redis(redisUrl!);
  const batchedA = batchedRateLimitStore(busA.counters!, '', { syncIntervalMs: 20, maxCounters: 100 });
  const batchedB = batchedRateLimitStore(busB.counters!, '', { syncIntervalMs: 20, maxCounters: 100 });
  t.teardown(async () => {
    batchedA.close();
    batchedB.close();
    const keys = await redisA.keys(`${prefix}*`);
    if (keys.length > 0) await redisA.del(...keys);
    redisA.disconnect();
    await Promise.all([busA.close(), busB.close()]);
  });
  await Promise.all([busA.ping(), busB.ping()]);
  const a = new batchedA.Store({}) as unknown as Store;
  const b = new batchedB.Store({}) as unknown as Store;

  t.same([1, 2, 3].map(() => hit(a, 'k', 60_000).current), [1, 2, 3], 'counted locally at once');
  await sleep(100);
  t.equal(await redisA.get(`${prefix}k`), '3', 'one sync carried all three hits');
  t.equal(hit(b, 'k', 60_000).current, 1, "the other instance's first hit does not know yet");
  await sleep(100);
  t.equal(hit(b, 'k', 60_000).current, 5, 'after its sync it counts both instances');
  const ttl = hit(b, 'k', 60_000).ttl;
  t.ok(ttl > 59_000 && ttl <= 60_000, `the window is Redis's (${ttl} ms left)`);

  // A window ends: the count restarts, locally and in Redis.
  t.equal(hit(a, 'short', 150).current, 1);
  t.equal(hit(a, 'short', 150).current, 2);
  await sleep(250);
  t.equal(hit(a, 'short', 150).current, 1, 'a new window starts from one');

  // Per-route children keep separate counters.
  const child = (a as unknown as { child(o: unknown): Store }).child({ routeInfo: { method: 'GET', url: '/x' } });
  t.equal(hit(child, 'k', 60_000).current, 1, 'a route child has its own counter');

  // Redis away: hits are still answered and counted, nothing waits on the reconnect.
  await busA.close();
  const started = performance.now();
  const offline = [1, 2, 3].map(() => hit(a, 'offline', 60_000).current);
  await sleep(100);
  t.same(offline, [1, 2, 3]);
  t.equal(hit(a, 'offline', 60_000).current, 4, 'the batch that could not be sent stays counted here');
  t.ok(performance.now() - started < 1_000, 'without waiting on Redis');
});

t.test('the number of counters kept is bounded (oldest dropped first)', { skip: redisUrl ? false : 'needs REDIS_URL' }, async (t) => {
  const batched = batchedOnOwnRedisPrefix(t);
  const store = new batched.Store({}) as unknown as Store;
  hit(store, 'oldest', 60_000);
  hit(store, 'oldest', 60_000);
  for (const key of ['b', 'c', 'd']) hit(store, key, 60_000);
  t.equal(hit(store, 'oldest', 60_000).current, 1, 'the oldest counter made room and starts again');
});

t.test('a store refuses the sliding options it does not implement instead of ignoring them', { skip: redisUrl ? false : 'needs REDIS_URL' }, async (t) => {
  const batched = batchedOnOwnRedisPrefix(t);
  t.throws(() => new batched.Store({ continueExceeding: true } as never), /fixed windows only/);
  t.throws(() => new batched.Store({ exponentialBackoff: true } as never), /fixed windows only/);
});
