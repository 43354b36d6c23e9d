/**
 * rateLimitCounter: fixed-window counts a handler takes itself, in memory without Redis, shared
 * through Redis between instances with it (skipped without REDIS_URL), and local while Redis is away.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { Redis } from 'ioredis';
import { createRedisBus } from '@keygate/bus';
import { rateLimitCounter } from '../src/index.js';

const redisUrl = process.env.REDIS_URL || undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('in memory: counts per key, reports the window left, restarts the window once it ends', async (t) => {
  const counter = rateLimitCounter(undefined, 'unused:');
  t.match(await counter.hit('a', 200, 5), { current: 1 });
  t.match(await counter.hit('a', 200, 5), { current: 2 });
  const other = await counter.hit('b', 200, 5);
  t.equal(other.current, 1, 'another key counts on its own');
  t.ok(other.ttl > 0 && other.ttl <= 200, `ttl ${other.ttl}`);
  await sleep(250);
  t.match(await counter.hit('a', 200, 5), { current: 1 }, 'a new window');
});

t.test('in memory: a hit with a request id counts once per key and window; a repeat reads the count', async (t) => {
  const counter = rateLimitCounter(undefined, 'unused:');
  t.match(await counter.hit('a', 200, 5, 'request-1'), { current: 1 });
  t.match(await counter.hit('a', 200, 5, 'request-1'), { current: 1 }, 'the repeat adds nothing');
  t.match(await counter.hit('a', 200, 5, 'request-2'), { current: 2 }, 'another id counts');
  t.match(await counter.hit('a', 200, 5), { current: 3 }, 'a hit without an id counts');
  t.match(await counter.hit('b', 200, 5, 'request-1'), { current: 1 }, 'an id counts once per key');
  await sleep(250);
  t.match(await counter.hit('a', 200, 5, 'request-1'), { current: 1 }, 'in a new window it counts again');
});

t.test('in memory: the counters kept are bounded, the least recently hit dropped first (a flood of keys cannot grow the heap)', async (t) => {
  const counter = rateLimitCounter(undefined, 'unused:', 3);
  await counter.hit('kept', 60_000, 5);
  await counter.hit('dropped', 60_000, 5);
  await counter.hit('dropped', 60_000, 5);
  await counter.hit('kept', 60_000, 5);
  for (const key of ['x', 'y']) await counter.hit(key, 60_000, 5);
  t.match(await counter.hit('kept', 60_000, 5), { current: 3 }, 'a recently hit key survives');
  t.match(await counter.hit('dropped', 60_000, 5), { current: 1 }, 'the least recently hit one starts again');
});

t.test('through the bus: two buses share a count under the bus prefix; a lost expiry is restored; a closed bus counts locally', { skip: redisUrl ? false : 'needs REDIS_URL' }, async (t) => {
  const prefix = `kgt_rlc_${randomUUID().slice(0, 8)}:`;
  const busA = createRedisBus({ url: redisUrl!, keyPrefix: prefix });
  const busB = createRedisBus({ url: redisUrl!, keyPrefix: prefix });
  const admin = new Redis(redisUrl!);
  t.teardown(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
    await Promise.all([busA.close(), busB.close()]);
  });
  await Promise.all([busA.ping(), busB.ping()]);
  const a = rateLimitCounter(busA.counters, 'login:');
  const b = rateLimitCounter(busB.counters, 'login:');
  t.match(await a.hit('acct:y', 60_000, 10), { current: 1 });
  t.match(await b.hit('acct:y', 60_000, 10), { current: 2 });
  t.equal(await admin.get(`${prefix}login:acct:y`), '2', 'stored under the bus prefix and the namespace');
  // A counter left without an expiry (its PEXPIRE lost) would never reset: the next hit gives it a window.
  await admin.set(`${prefix}login:stuck`, '7');
  const stuck = await a.hit('stuck', 60_000, 10);
  t.equal(stuck.current, 8);
  t.ok(stuck.ttl > 55_000 && stuck.ttl <= 60_000 && (await admin.pttl(`${prefix}login:stuck`)) > 0, 'the window is restored');
  await busA.close();
  t.match(await a.hit('acct:y', 60_000, 10), { current: 1 }, 'bus closed: counted in memory, no error');
  t.equal(await admin.get(`${prefix}login:acct:y`), '2', 'nothing reached Redis');
});

