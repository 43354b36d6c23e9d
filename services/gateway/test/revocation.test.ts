/**
 * Revocation end to end over the bus: a publisher bus plays the auth service (the wire format of
 * @keygate/revocation: publish on `revocations`, and addExpiring on `revoked`), the gateway has its own bus.
 * With REDIS_URL set both are real Redis connections (two processes' worth); otherwise two
 * memory buses on one hub.
 */
import t0 from 'tap';
import { Redis } from 'ioredis';
import { createBus, createMemoryBus, createMemoryHub, type Bus } from '@keygate/bus';
import { REVOCATION_CHANNEL, REVOCATION_SET, encodeRevocationMessage, revocationMember, type RevocationType } from '@keygate/revocation';
import { realRedisUrl, randomName, scrapeMetrics } from '@keygate/testing';
import { claimsOf, makeKey, send, startRig, type Rig } from './helpers.js';

const prefix = `${randomName('kgt_gw_rev')}:`;
const hub = createMemoryHub();
const openBus = (): Bus => (realRedisUrl ? createBus({ redisUrl: realRedisUrl, keyPrefix: prefix }) : createMemoryBus({ hub, keyPrefix: prefix }));

/** Counts every Bus method call the gateway makes, to show requests cause none. */
function counting(bus: Bus): { bus: Bus; calls: string[] } {
  const calls: string[] = [];
  const proxy = new Proxy(bus, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { bus: proxy, calls };
}

/** What the auth service publishes, through the same wire-format package. */
async function revoke(publisher: Bus, type: RevocationType, id: string, until = Date.now() + 960_000): Promise<void> {
  await publisher.addExpiring(REVOCATION_SET, revocationMember({ type, id }), until);
  await publisher.publish(REVOCATION_CHANNEL, encodeRevocationMessage({ type, id, until }));
}

/** Milliseconds until `token` gets 401 at `rig`, polling every 10 ms for at most 2 s (-1: never). */
async function msUntilRefused(rig: Rig, token: string, started: number): Promise<number> {
  while (performance.now() - started < 2_000) {
    if ((await status(rig, token)) === 401) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return -1;
}

async function status(rig: Rig, token: string): Promise<number> {
  return (await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } })).status;
}

const publisher = openBus();
const gatewayBus = counting(openBus());
const rig = await startRig({ REDIS_PREFIX: prefix }, { bus: gatewayBus.bus });
t0.teardown(async () => {
  await rig.close();
  await gatewayBus.bus.close();
  await publisher.close();
});

t0.test(`a revoked session is refused within 1 s, with no per-request bus call (${realRedisUrl ? 'Redis' : 'memory'} bus)`, async (t) => {
  const token = await rig.mint({ sub: 'alice' });
  const sid = claimsOf(token).sid as string;
  t.equal(await status(rig, token), 200);
  const callsBefore = gatewayBus.calls.length;
  const jwksBefore = rig.jwksRequests;
  for (let i = 0; i < 30; i++) t.equal(await status(rig, token), 200);
  t.same(gatewayBus.calls.slice(callsBefore), [], 'no bus (Redis) call for revocation while serving requests');
  t.equal(rig.jwksRequests, jwksBefore, 'no call to the auth service while serving requests');

  const started = performance.now();
  await revoke(publisher, 'session', sid);
  let refusedAfter = -1;
  while (performance.now() - started < 2_000) {
    if ((await status(rig, token)) === 401) {
      refusedAfter = performance.now() - started;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  t.comment(`logout → refusal at the gateway: ${refusedAfter.toFixed(1)} ms`);
  t.ok(refusedAfter >= 0 && refusedAfter < 1_000, `refused after ${refusedAfter.toFixed(1)} ms`);
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
  t.same(res.json(), { error: 'invalid_token', error_description: 'The token has been revoked.' });
  t.match(res.headers['www-authenticate'], /error="invalid_token"/);
  // Another session of the same user is unaffected.
  t.equal(await status(rig, await rig.mint({ sub: 'alice' })), 200);
});

t0.test('a single access token can be revoked by jti', async (t) => {
  const token = await rig.mint({ sub: 'bob' });
  const sibling = await rig.mint({ sub: 'bob', sid: claimsOf(token).sid });
  t.equal(await status(rig, token), 200);
  await revoke(publisher, 'token', claimsOf(token).jti as string);
  for (let i = 0; i < 100 && (await status(rig, token)) !== 401; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(await status(rig, token), 401);
  t.equal(await status(rig, sibling), 200, 'the session itself is still valid');
});

t0.test("a client revocation refuses every token of that client within 1 s, sessions or not, and no other client's", async (t) => {
  const service = await rig.mint({ sub: 'svc-1', role: 'service', sid: undefined, client_id: 'svc-1' });
  const sameClientUser = await rig.mint({ sub: 'frank', client_id: 'svc-1' });
  const otherClient = await rig.mint({ sub: 'svc-2', role: 'service', sid: undefined, client_id: 'svc-2' });
  for (const token of [service, sameClientUser, otherClient]) t.equal(await status(rig, token), 200, 'accepted (and cached) before');
  const started = performance.now();
  await revoke(publisher, 'client', 'svc-1');
  const refusedAfter = await msUntilRefused(rig, service, started);
  t.ok(refusedAfter >= 0 && refusedAfter < 1_000, `the client_credentials token is refused after ${refusedAfter.toFixed(1)} ms`);
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${service}` } });
  t.same(res.json(), { error: 'invalid_token', error_description: 'The token has been revoked.' });
  t.equal(await status(rig, sameClientUser), 401, "a user's token issued to that client too");
  t.equal(await status(rig, otherClient), 200, "another client's token still passes");
});

t0.test('a key revocation refuses tokens of that kid within 1 s, cached ones included, even while the JWKS still lists it', async (t) => {
  const main = rig.keys[0]!;
  const compromised = await makeKey('key-compromised');
  const replacement = await makeKey('key-replacement');
  // A stale JWKS: the auth service has not dropped the revoked key yet, and already lists its replacement.
  rig.jwks = { keys: [main.jwk, compromised.jwk, replacement.jwk] };
  t.teardown(() => {
    rig.jwks = { keys: [main.jwk] };
  });
  await rig.gateway.tokens.jwks.refresh();
  const cached = await rig.mint({ sub: 'gina' }, {}, compromised);
  const service = await rig.mint({ sub: 'svc-3', role: 'service', sid: undefined, client_id: 'svc-3' }, {}, compromised);
  t.equal(await status(rig, cached), 200, 'verified and cached before the revocation');
  t.equal(await status(rig, service), 200);
  const jwksBefore = rig.jwksRequests;

  const started = performance.now();
  await revoke(publisher, 'key', compromised.kid, Date.now() + 60_000);
  const refusedAfter = await msUntilRefused(rig, cached, started);
  t.ok(refusedAfter >= 0 && refusedAfter < 1_000, `the cached token is refused after ${refusedAfter.toFixed(1)} ms`);
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${cached}` } });
  t.same(res.json(), { error: 'invalid_token', error_description: 'The token was signed with a revoked key.' });
  t.equal(await status(rig, service), 401, 'every token of that key, whoever it was issued to');
  t.equal(await status(rig, await rig.mint({ sub: 'gina' }, {}, compromised)), 401, 'a token signed with it after the revocation too');
  t.ok(rig.jwksRequests > jwksBefore, 'the gateway refetched the JWKS at once');
  t.equal(await status(rig, await rig.mint({ sub: 'gina' }, {}, replacement)), 200, 'the replacement key verifies');
  t.equal(await status(rig, await rig.mint({ sub: 'gina' })), 200, 'other keys are untouched');
  const metrics = await scrapeMetrics(rig.gateway);
  t.match(metrics, /gateway_token_rejections_total\{[^}]*reason="key_revoked"[^}]*\} [1-9]/, 'counted as key_revoked');

  // A gateway started later learns the revoked kid from the expiring set, whatever its JWKS lists.
  const lateBus = openBus();
  const late = await startRig({ REDIS_PREFIX: prefix }, { bus: lateBus });
  t.teardown(async () => {
    await late.close();
    await lateBus.close();
  });
  late.jwks = { keys: [late.keys[0]!.jwk, compromised.jwk] };
  await late.gateway.tokens.jwks.refresh();
  const lateRes = await send(late.url, { path: '/orders', headers: { Authorization: `Bearer ${await late.mint({ sub: 'gina' }, {}, compromised)}` } });
  t.equal(lateRes.status, 401, 'a late gateway refuses that kid on its very first request');
  t.equal(lateRes.json().error_description, 'The token was signed with a revoked key.');
  t.equal(await status(late, await late.mint({ sub: 'gina' })), 200, 'and accepts its other keys');
});

t0.test('malformed and already-expired revocation messages are ignored', async (t) => {
  const token = await rig.mint({ sub: 'carol' });
  await publisher.publish('revocations', 'not json');
  await publisher.publish('revocations', JSON.stringify({ type: 'user', id: 'carol', until: Date.now() + 60_000 }));
  await publisher.publish('revocations', JSON.stringify({ type: 'session', id: claimsOf(token).sid, until: Date.now() - 1 }));
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(await status(rig, token), 200);
});

t0.test('a gateway started after a logout catches up from the expiring set', async (t) => {
  const token = await rig.mint({ sub: 'dave' });
  await publisher.addExpiring('revoked', `session:${claimsOf(token).sid as string}`, Date.now() + 60_000);
  const lateBus = openBus();
  const late = await startRig({ REDIS_PREFIX: prefix }, { bus: lateBus });
  t.teardown(async () => {
    await late.close();
    await lateBus.close();
  });
  const lateToken = await late.mint({ sub: 'dave', sid: claimsOf(token).sid });
  t.equal(await status(late, lateToken), 401, 'refused on the very first request');
});

t0.test('REVOCATION_WHEN_REDIS_DOWN: serve keeps answering, refuse answers 503 on authenticated routes', async (t) => {
  for (const mode of ['serve', 'refuse'] as const) {
    const deadBus = createBus({ redisUrl: 'redis://127.0.0.1:1', keyPrefix: prefix });
    const down = await startRig({ REDIS_PREFIX: prefix, REVOCATION_WHEN_REDIS_DOWN: mode }, { bus: deadBus });
    const token = await down.mint();
    const res = await send(down.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
    if (mode === 'serve') {
      t.equal(res.status, 200, 'serve: revocation paused, requests still served');
      const metrics = await scrapeMetrics(down.gateway);
      t.match(metrics, /gateway_revocation_live\{service="gateway"\} 0/);
      t.equal((await send(down.url, { path: '/readyz' })).status, 200, 'serve: stays in rotation');
    } else {
      t.equal(res.status, 503, 'refuse: authenticated routes refused');
      t.same(res.json(), { error: 'service_unavailable', error_description: 'Revocation status is unavailable; retry later.' });
      t.ok(res.headers['retry-after']);
      t.equal((await send(down.url, { path: '/readyz' })).status, 503, 'refuse: out of rotation');
    }
    t.equal((await send(down.url, { path: '/auth/login', method: 'POST', body: '{}' })).status, 200, `${mode}: public routes still work`);
    await down.close();
    await deadBus.close();
  }
  const metrics = await scrapeMetrics(rig.gateway);
  t.match(metrics, /gateway_revocation_live\{service="gateway"\} 1/);
});

t0.test('after the subscriber connection drops, the gateway catches up on what it missed', { skip: realRedisUrl ? false : 'needs REDIS_URL' }, async (t) => {
  const token = await rig.mint({ sub: 'erin' });
  t.equal(await status(rig, token), 200);
  const redis = new Redis(realRedisUrl!);
  t.teardown(() => redis.disconnect());
  const clients = (await redis.client('LIST')) as string;
  const ids = clients
    .split('\n')
    .filter((line) => line.includes(`name=keygate-bus:sub:${prefix}`))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  t.ok(ids.length > 0, 'found the subscriber connections of this test');
  // Kill the subscriber connections, and revoke while they are away (the message is missed).
  for (const id of ids) await redis.client('KILL', 'ID', id);
  await revoke(publisher, 'session', claimsOf(token).sid as string);
  const started = performance.now();
  let refused = false;
  while (performance.now() - started < 5_000 && !refused) {
    refused = (await status(rig, token)) === 401;
    if (!refused) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.comment(`caught up after reconnect in ${(performance.now() - started).toFixed(0)} ms`);
  t.ok(refused, 'refused after the catch-up');
});
