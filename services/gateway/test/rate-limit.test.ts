import t0 from 'tap';
import { Redis } from 'ioredis';
import { createBus } from '@keygate/bus';
import { randomName, realRedisUrl, scrapeMetrics } from '@keygate/testing';
import { send, startRig } from './helpers.js';

/**
 * Two gateway instances on one Redis prefix (RATE_LIMIT_USER 4, the given RATE_LIMIT_SYNC_MS) and a
 * token of the same user from each: both rigs trust their own fake JWKS, so each signs its own.
 */
async function twoInstances(t: { teardown(fn: () => unknown): void }, name: string, syncMs: string, sub: string) {
  const prefix = `${randomName(name)}:`;
  const env = { RATE_LIMIT_USER: '4', REDIS_PREFIX: prefix, RATE_LIMIT_SYNC_MS: syncMs };
  const first = await startRig(env);
  const second = await startRig(env);
  t.teardown(() => Promise.all([first.close(), second.close()]));
  return { prefix, first, second, tokenA: await first.mint({ sub }), tokenB: await second.mint({ sub }) };
}

t0.test('public routes are limited per IP and authenticated ones per user, with 429, Retry-After and RateLimit-*', async (t) => {
  const rig = await startRig({ RATE_LIMIT_PUBLIC_PER_IP: '3', RATE_LIMIT_USER: '4' });
  t.teardown(() => rig.close());
  for (let i = 0; i < 3; i++) {
    const ok = await send(rig.url, { path: '/auth/login', method: 'POST', body: '{}' });
    t.equal(ok.status, 200);
    t.equal(ok.headers['ratelimit-limit'], '3');
    t.equal(ok.headers['ratelimit-remaining'], String(2 - i));
  }
  const limited = await send(rig.url, { path: '/auth/login', method: 'POST', body: '{}' });
  t.equal(limited.status, 429);
  t.equal(limited.json().error, 'rate_limited');
  t.match(limited.json().error_description, /^Too many requests; retry in/);
  t.ok(Number(limited.headers['retry-after']) > 0);
  t.equal(limited.headers['ratelimit-remaining'], '0');

  // Users are counted by their own key, not by the (exhausted) IP.
  const alice = await rig.mint({ sub: 'alice' });
  const bob = await rig.mint({ sub: 'bob' });
  for (let i = 0; i < 4; i++) t.equal((await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${alice}` } })).status, 200);
  const aliceLimited = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${alice}` } });
  t.equal(aliceLimited.status, 429);
  t.equal(aliceLimited.headers['ratelimit-limit'], '4');
  t.equal((await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${bob}` } })).status, 200, 'bob is not limited by alice');

  const metrics = await scrapeMetrics(rig.gateway);
  t.match(metrics, /gateway_rate_limited_total\{limit="ip",service="gateway"\} 1\n/, 'the IP rejection is counted');
  t.match(metrics, /gateway_rate_limited_total\{limit="user",service="gateway"\} 1\n/, 'the user rejection is counted');
});

t0.test('with Redis and RATE_LIMIT_SYNC_MS=0, two gateway instances share one exact counter per user; with Redis down, counting falls back to memory', { skip: realRedisUrl ? false : 'needs REDIS_URL' }, async (t) => {
  const { prefix, first, second, tokenA, tokenB } = await twoInstances(t, 'kgt_gw_rl', '0', 'shared-user');
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await send(first.url, { path: '/orders', headers: { Authorization: `Bearer ${tokenA}` } })).status);
    statuses.push((await send(second.url, { path: '/orders', headers: { Authorization: `Bearer ${tokenB}` } })).status);
  }
  t.same(statuses, [200, 200, 200, 200, 429, 429], 'the fifth request overall is limited, whichever instance gets it');

  const deadBus = createBus({ redisUrl: 'redis://127.0.0.1:1', keyPrefix: prefix });
  const offline = await startRig({ RATE_LIMIT_PUBLIC_PER_IP: '2' }, { bus: deadBus });
  t.teardown(async () => {
    await offline.close();
    await deadBus.close();
  });
  const started = performance.now();
  const offlineStatuses: number[] = [];
  for (let i = 0; i < 3; i++) offlineStatuses.push((await send(offline.url, { path: '/auth/login', method: 'POST', body: '{}' })).status);
  t.same(offlineStatuses, [200, 200, 429], 'still limited, per instance');
  t.ok(performance.now() - started < 1_000, 'and without waiting on Redis');
});

t0.test('by default each instance counts in memory and shares through Redis every RATE_LIMIT_SYNC_MS: the limit holds across instances once counts are shared', { skip: realRedisUrl ? false : 'needs REDIS_URL' }, async (t) => {
  const { prefix, first, second, tokenA, tokenB } = await twoInstances(t, 'kgt_gw_rlb', '50', 'batched-user');
  const call = (rig: typeof first, token: string) => send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  // An instance learns the shared total from each of its own syncs (one pipelined call per
  // interval carrying its hits and reading the totals back): so the first instance's two
  // requests are known to the second one after its first sync.
  t.equal((await call(first, tokenA)).status, 200);
  t.equal((await call(first, tokenA)).status, 200);
  await settle();
  t.equal((await call(second, tokenB)).status, 200, 'third request overall, first on the second instance');
  await settle();
  const fourth = await call(second, tokenB);
  t.equal(fourth.status, 200);
  t.equal(fourth.headers['ratelimit-remaining'], '0', "the second instance counts the first one's two requests");
  t.equal((await call(second, tokenB)).status, 429, 'the fifth request overall is limited');
  // The documented lag: the first instance has not synced since its own last requests, so one
  // more request there is judged on its older view; its sync then brings it up to date.
  t.equal((await call(first, tokenA)).status, 200, 'admitted within one sync interval of lag');
  await settle();
  t.equal((await call(first, tokenA)).status, 429, 'and limited once that instance has synced');

  // One instance on its own is exact without waiting for a sync: a fresh user, 4 allowed, the 5th refused at once.
  const tokenC = await first.mint({ sub: 'solo-user' });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await call(first, tokenC)).status);
  t.same(statuses, [200, 200, 200, 200, 429], 'exact on one instance');

  // The shared total really lives in Redis: the key holds every request either instance counted.
  const redis = new Redis(realRedisUrl!);
  t.teardown(() => redis.disconnect());
  await settle();
  const keys = await redis.keys(`${prefix}gateway-rate:*u:batched-user`);
  t.equal(keys.length, 1, 'one shared counter for the user, under the bus prefix');
  t.ok(Number(await redis.get(keys[0]!)) >= 6, 'holding the requests of both instances (refused ones included)');
  t.ok((await redis.pttl(keys[0]!)) > 0, 'with the window as its expiry');
});

t0.test('per-IP limits count an IPv6 client by its /64: rotating addresses inside it buys no budget', async (t) => {
  const rig = await startRig({ RATE_LIMIT_PUBLIC_PER_IP: '3', TRUST_PROXY: '127.0.0.1' });
  t.teardown(() => rig.close());
  const from = (address: string) => send(rig.url, { path: '/auth/login', method: 'POST', headers: ['X-Forwarded-For', address], body: '{}' });
  const statuses: number[] = [];
  for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:DB8:1:2:0:0:0:7', '2001:db8:1:2::8']) statuses.push((await from(address)).status);
  t.same(statuses, [200, 200, 200, 429], 'four addresses of one /64 share one budget');
  t.equal((await from('2001:db8:1:3::1')).status, 200, 'the next /64 has its own');
  t.equal((await from('192.0.2.1')).status, 200, 'IPv4 clients are counted by address');
  t.equal((await from('192.0.2.2')).status, 200);
  // Read from the registry itself, wherever the service serves /metrics.
  const metrics = await rig.gateway.metrics.registry.metrics();
  t.match(metrics, /gateway_rate_limited_total\{limit="ip",service="gateway"\} 1\n/, 'counted as an ip refusal');
});

t0.test('a body announced larger than GATEWAY_BODY_LIMIT gets 413', async (t) => {
  const rig = await startRig({ GATEWAY_BODY_LIMIT: '2048' });
  t.teardown(() => rig.close());
  const res = await send(rig.url, { path: '/auth/register', method: 'POST', headers: ['Content-Type', 'application/json'], body: 'x'.repeat(4096) });
  t.equal(res.status, 413);
  t.equal(res.json().error, 'payload_too_large');
  t.equal((await send(rig.url, { path: '/auth/register', method: 'POST', headers: ['Content-Type', 'application/json'], body: 'x'.repeat(1000) })).status, 200);
});
