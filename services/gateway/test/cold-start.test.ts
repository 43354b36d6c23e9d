/**
 * A gateway that starts while Redis is unreachable (a bus pointed at a closed port) must not serve
 * authenticated routes with an empty revocation list: it loads the list from the auth service's
 * GET /internal/revocations (played here by the rig's fake auth, which checks the gateway proof),
 * and with neither source it is not ready and answers 503 + Retry-After on authenticated routes.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import t0, { type Test } from 'tap';
import { createBus } from '@keygate/bus';
import { freePort, randomName, realRedisUrl, scrapeMetrics } from '@keygate/testing';
import { claimsOf, send, startRig, type InternalRevocations, type Rig } from './helpers.js';

const prefix = `${randomName('kgt_gw_cold')}:`;

async function coldRig(t: Test, env: Record<string, string>, internalRevocations: InternalRevocations): Promise<Rig> {
  const deadBus = createBus({ redisUrl: 'redis://127.0.0.1:1', keyPrefix: prefix });
  const rig = await startRig({ REDIS_PREFIX: prefix, ...env }, { bus: deadBus }, { internalRevocations });
  t.teardown(async () => {
    await rig.close();
    await deadBus.close();
  });
  return rig;
}

async function status(rig: Rig, token: string, path = '/orders'): Promise<number> {
  return (await send(rig.url, { path, headers: { Authorization: `Bearer ${token}` } })).status;
}

async function within(ms: number, check: () => Promise<boolean>): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await check()) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

const until = () => Date.now() + 900_000;

t0.test('Redis down at start, auth reachable: the list comes from the auth service and revoked tokens are refused', async (t) => {
  const revokedSid = 'session-revoked-before-start';
  const rig = await coldRig(t, {}, [
    { member: `session:${revokedSid}`, until: until() },
    { member: 'token:jti-revoked', until: until() },
    // Kinds this gateway does not know, and junk, are skipped: the rest of the list still counts.
    { member: 'future-kind:x', until: until() },
    { member: 'no-colon', until: until() },
  ]);
  const revoked = await rig.mint({ sub: 'alice', sid: revokedSid });
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${revoked}` } });
  t.equal(res.status, 401, 'the session revoked before the gateway started is refused on the first request');
  t.same(res.json(), { error: 'invalid_token', error_description: 'The token has been revoked.' });
  t.equal(await status(rig, await rig.mint({ sub: 'bob', jti: 'jti-revoked' })), 401, 'a token revoked by jti too');
  t.equal(await status(rig, await rig.mint({ sub: 'carol' })), 200, 'a valid token passes (serve mode, caught up from auth)');
  t.equal((await send(rig.url, { path: '/readyz' })).status, 200, 'ready: caught up once');
  const metrics = await scrapeMetrics(rig.gateway);
  t.match(metrics, /gateway_revocation_live\{service="gateway"\} 0/, 'Redis is still down: not live');
  t.match(metrics, /gateway_revoked_entries\{service="gateway"\} 2/);
  t.ok(rig.internalRevocationCalls >= 1);

  // While Redis stays down the auth service is polled: a revocation made meanwhile is enforced.
  const later = await rig.mint({ sub: 'dave' });
  t.equal(await status(rig, later), 200);
  rig.internalRevocations = [...rig.internalRevocations!, { member: `session:${claimsOf(later).sid as string}`, until: until() }];
  const refusedAfter = await within(3_000, async () => (await status(rig, later)) === 401);
  t.comment(`revocation made during the outage enforced after ${refusedAfter?.toFixed(0) ?? 'never'} ms (poll every 1 s)`);
  t.ok(refusedAfter !== undefined && refusedAfter < 1_500, 'enforced within the poll interval');
});

t0.test('neither Redis nor the auth service can give the list: not ready, 503 + Retry-After on authenticated routes only', async (t) => {
  const rig = await coldRig(t, {}, null);
  const token = await rig.mint({ sub: 'erin' });
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
  t.equal(res.status, 503, 'authenticated route refused');
  t.same(res.json(), { error: 'service_unavailable', error_description: 'The revocation list is not loaded yet; retry later.' });
  t.ok(Number(res.headers['retry-after']) > 0, 'with Retry-After');
  t.equal(rig.orders.seen.length, 0, 'nothing reached the upstream');
  const ready = await send(rig.url, { path: '/readyz' });
  t.equal(ready.status, 503, 'not ready');
  t.equal(ready.json<{ checks: Record<string, string> }>().checks.revocation, 'unavailable');
  // Public routes do not depend on revocation.
  t.equal((await send(rig.url, { path: '/.well-known/jwks.json' })).status, 200, 'the JWKS through the gateway');
  t.equal((await send(rig.url, { path: '/auth/login', method: 'POST', body: '{}' })).status, 200, 'login through the gateway');
  // An invalid token is still a 401, not a 503: nothing about revocation is needed to refuse it.
  t.equal(await status(rig, 'not-a-token'), 401);

  // The auth service recovers: the gateway keeps retrying and catches up (backoff at most 2 s).
  const revokedSid = 'session-revoked-while-cold';
  rig.internalRevocations = [{ member: `session:${revokedSid}`, until: until() }];
  const readyAfter = await within(4_000, async () => (await send(rig.url, { path: '/readyz' })).status === 200);
  t.ok(readyAfter !== undefined, `ready once the auth service answers (${readyAfter?.toFixed(0) ?? 'never'} ms)`);
  t.equal(await status(rig, await rig.mint({ sub: 'frank', sid: revokedSid })), 401, 'and refuses the revoked session');
  t.equal(await status(rig, token), 200, 'and serves valid tokens');
});

t0.test('REVOCATION_WHEN_REDIS_DOWN=refuse: caught up from auth, still 503 on authenticated routes while Redis is down', async (t) => {
  const rig = await coldRig(t, { REVOCATION_WHEN_REDIS_DOWN: 'refuse' }, []);
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${await rig.mint()}` } });
  t.equal(res.status, 503);
  t.same(res.json(), { error: 'service_unavailable', error_description: 'Revocation status is unavailable; retry later.' });
  const ready = await send(rig.url, { path: '/readyz' });
  t.equal(ready.status, 503);
  const checks = ready.json<{ checks: Record<string, string> }>().checks;
  t.equal(checks.revocation, 'ok', 'caught up');
  t.equal(checks.bus, 'unavailable', 'but Redis is a hard dependency in refuse mode');
});

t0.test('/internal is not routed by the gateway: the endpoint is not reachable from outside', async (t) => {
  const rig = await startRig();
  t.teardown(() => rig.close());
  const token = await rig.mint({ role: 'admin' });
  for (const headers of [{}, { Authorization: `Bearer ${token}` }] as Array<Record<string, string>>) {
    for (const path of ['/internal/revocations', '/Internal/revocations', '/auth/../internal/revocations', '/%69nternal/revocations']) {
      const res = await send(rig.url, { path, headers });
      t.ok(res.status === 404 || res.status === 400, `${path}: ${res.status}`);
    }
  }
  t.same((await send(rig.url, { path: '/internal/revocations' })).json(), { error: 'not_found', error_description: 'No route for GET /internal/revocations.' });
  t.notOk(rig.auth.seen.some((echo) => echo.url.includes('internal')), 'nothing reached the auth service');
});

/** A TCP relay to the real Redis that can be switched off (connection refused, like a killed Redis) and on again. */
async function switchableRedis(target: string): Promise<{ url: string; up(): Promise<void>; down(): Promise<void> }> {
  const { port: targetPort, hostname } = new URL(target);
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    up: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((client) => {
          const upstream = connect(Number(targetPort || 6379), hostname);
          for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
            socket.on('error', () => {});
          }
          client.pipe(upstream).pipe(client);
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
        });
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    async down() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    },
  };
}

t0.test('Redis down at start, then back: the gateway subscribes once it can and hears revocations again', { skip: realRedisUrl ? false : 'needs REDIS_URL (a real Redis behind a switchable relay)' }, async (t) => {
  const relay = await switchableRedis(realRedisUrl!);
  const gatewayBus = createBus({ redisUrl: relay.url, keyPrefix: prefix });
  const publisher = createBus({ redisUrl: realRedisUrl!, keyPrefix: prefix });
  const rig = await startRig({ REDIS_PREFIX: prefix }, { bus: gatewayBus }, { internalRevocations: [] });
  t.teardown(async () => {
    await rig.close();
    await gatewayBus.close();
    await publisher.close();
    await relay.down();
  });
  const live = async () => /gateway_revocation_live\{service="gateway"\} 1/.test(await scrapeMetrics(rig.gateway));
  t.equal((await send(rig.url, { path: '/readyz' })).status, 200, 'caught up from auth');
  t.notOk(await live(), 'not live: Redis is down');
  // Revoked while the gateway cannot hear it: to be found by the catch-up after the reconnect.
  const missed = await rig.mint({ sub: 'gina' });
  await publisher.addExpiring('revoked', `session:${claimsOf(missed).sid as string}`, until());

  await relay.up();
  const liveAfter = await within(3_000, live);
  t.comment(`live again ${liveAfter?.toFixed(0) ?? 'never'} ms after Redis became reachable`);
  t.ok(liveAfter !== undefined && liveAfter < 500, 'live again within 0.5 s');
  t.equal(await status(rig, missed), 401, 'the revocation made while it was away is enforced (catch-up)');

  // A revocation published now arrives by the subscription: it was retried until it went through.
  const token = await rig.mint({ sub: 'hank' });
  t.equal(await status(rig, token), 200);
  const sid = claimsOf(token).sid as string;
  const message = JSON.stringify({ type: 'session', id: sid, until: until() });
  await publisher.publish('revocations', message);
  const refusedAfter = await within(1_000, async () => (await status(rig, token)) === 401);
  t.ok(refusedAfter !== undefined, `a revocation published after the reconnect is enforced (${refusedAfter?.toFixed(0) ?? 'never'} ms), by the channel alone`);
});
