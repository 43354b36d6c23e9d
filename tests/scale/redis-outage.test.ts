/**
 * Redis stopped and restarted empty (no persistence: the worst case), with the behaviour
 * docs/operations.md documents for the default REVOCATION_WHEN_REDIS_DOWN=serve:
 * - during the outage the gateways keep verifying tokens and keep refusing every session revoked
 *   before it; a logout still revokes the session in PostgreSQL at once (its refresh token is
 *   dead), while gateways cannot hear of it until Redis is back (gateway_revocation_live = 0);
 * - after Redis returns, every revocation made meanwhile is enforced by every gateway, and so is
 *   every earlier one, also by a gateway that starts only after Redis lost its data; an order
 *   placed meanwhile still yields its notification.
 * All services use a private redis-server child, so stopping it disturbs no other test file.
 */
import { test } from 'tap';
import {
  authRedisConnected,
  call,
  describe,
  hasOrderNotification,
  protectedGet,
  refresh,
  revocationLive,
  registerAndLogin,
  scaleSkipReason,
  sleep,
  startStackOnPrivateRedis,
  timeUntilRefused,
  waitUntil,
  type Reply,
} from './harness/index.js';

const skip = scaleSkipReason({ redisServer: true });
/** How long after Redis is back every revocation must be enforced again (documented bound). */
const CATCH_UP_BOUND_MS = 10_000;

function statusOf(reply: Reply): string {
  return reply.status === 503 ? `503 Retry-After=${reply.headers.get('retry-after') ?? 'none'}` : String(reply.status);
}

test('Redis stopped and restarted empty', { skip }, async (t) => {
  const { stack, redis } = await startStackOnPrivateRedis(t, { name: 'redisdown' });
  const { front } = stack;
  const gateways = stack.gateways.map((gateway) => gateway.url);
  // Metrics come from each gateway's operations listener, not its public port.
  const gatewayMetrics = stack.gateways.map((gateway) => gateway.metricsUrl);

  const alice = await registerAndLogin(front, 'alice');
  const carol = await registerAndLogin(front, 'carol');
  const dave = await registerAndLogin(front, 'dave');
  t.equal((await call(front, 'POST', '/auth/logout', { cookie: carol.cookie })).status, 204, 'carol logs out before the outage');
  t.ok(
    (await timeUntilRefused(gateways, carol.accessToken, { timeoutMs: 1_000 })) !== undefined,
    "carol's token is refused everywhere within 1 s",
  );

  await redis.stop();
  const live = await waitUntil(async () => (await Promise.all(gatewayMetrics.map(revocationLive))).every((value) => value === '0'), {
    timeoutMs: 10_000,
    intervalMs: 200,
  });
  t.ok(live !== undefined, `both gateways report gateway_revocation_live 0 (${live ?? 'never'} ms after Redis stopped)`);
  t.same(
    await Promise.all(stack.auth.map((instance) => authRedisConnected(instance.metricsUrl))),
    ['0', '0'],
    'both auth instances report auth_redis_connected 0 (their rate limits count alone)',
  );

  // During the outage.
  for (const base of [front, ...gateways]) {
    t.equal((await protectedGet(base, alice.accessToken)).status, 200, `${base}: a valid token still passes`);
    t.equal((await protectedGet(base, carol.accessToken)).status, 401, `${base}: a session revoked before the outage is still refused`);
  }
  const logout = await call(front, 'POST', '/auth/logout', { cookie: dave.cookie });
  t.equal(
    logout.status,
    204,
    `dave's logout during the outage succeeds (${logout.ms.toFixed(0)} ms): the session is revoked in PostgreSQL`,
  );
  const daveRefresh = await refresh(front, dave);
  t.equal(daveRefresh.status, 401, `dave's refresh token is dead at once (${describe(daveRefresh)})`);
  const daveDuring = await Promise.all(gateways.map((base) => protectedGet(base, dave.accessToken)));
  t.comment(
    `during the outage dave's access token gets ${daveDuring.map((r) => r.status).join('/')} from the gateways (revocation paused: documented)`,
  );
  const loginDuring = await call(front, 'POST', '/auth/login', { json: alice.credentials });
  const refreshDuring = await refresh(front, alice);
  t.comment(
    `during the outage: login ${statusOf(loginDuring)} in ${loginDuring.ms.toFixed(0)} ms, refresh ${statusOf(refreshDuring)} in ${refreshDuring.ms.toFixed(0)} ms`,
  );
  for (const [name, reply] of [
    ['login', loginDuring],
    ['refresh', refreshDuring],
  ] as const) {
    t.ok(
      reply.status === 200 || (reply.status === 503 && reply.headers.get('retry-after') !== null),
      `${name} answers 200, or 503 with Retry-After (${statusOf(reply)})`,
    );
    t.ok(reply.ms < 5_000, `${name} answers within 5 s (${reply.ms.toFixed(0)} ms)`);
  }
  for (const gateway of stack.gateways)
    t.equal((await call(gateway.url, 'GET', '/readyz')).status, 200, `${gateway.instanceName} stays ready (serve mode)`);
  // An order placed meanwhile waits in the outbox, and reaches notifications once Redis is back.
  const order = await call(front, 'POST', '/orders', {
    token: alice.accessToken,
    json: { item: 'placed while Redis is down', quantity: 1 },
  });
  t.equal(order.status, 201, `an order can be placed during the outage (${describe(order)})`);
  const orderId = (order.body as { id?: string } | undefined)?.id;

  // Redis is back, empty.
  await redis.start();
  const backAt = Date.now();
  const daveRefused = await timeUntilRefused(gateways, dave.accessToken, { timeoutMs: CATCH_UP_BOUND_MS, pollMs: 50 });
  t.ok(
    daveRefused !== undefined,
    `the revocation made during the outage is enforced by every gateway after Redis returns (${daveRefused === undefined ? 'not' : `${(daveRefused / 1000).toFixed(1)} s`} within ${CATCH_UP_BOUND_MS / 1000} s)`,
  );
  t.comment(
    `after Redis returned: dave's revocation enforced after ${daveRefused === undefined ? 'never' : `${daveRefused.toFixed(0)} ms`}`,
  );
  for (const base of gateways)
    t.equal((await protectedGet(base, carol.accessToken)).status, 401, `${base}: carol's earlier revocation still holds`);
  const liveAgain = await waitUntil(async () => (await Promise.all(gatewayMetrics.map(revocationLive))).every((value) => value === '1'), {
    timeoutMs: 10_000,
    intervalMs: 200,
  });
  t.ok(liveAgain !== undefined, 'both gateways report gateway_revocation_live 1 again');
  const authAgain = await waitUntil(
    async () => (await Promise.all(stack.auth.map((instance) => authRedisConnected(instance.metricsUrl)))).every((value) => value === '1'),
    { timeoutMs: 10_000, intervalMs: 200 },
  );
  t.ok(authAgain !== undefined, 'both auth instances report auth_redis_connected 1 again');

  // A gateway that starts now knows only what Redis holds, and Redis lost everything.
  const late = stack.gateways[1];
  await late.restart();
  await sleep(500);
  t.equal(
    (await protectedGet(late.url, carol.accessToken)).status,
    401,
    'a gateway started after Redis lost its data refuses the session revoked before the outage',
  );
  t.equal((await protectedGet(late.url, dave.accessToken)).status, 401, 'and the one revoked during the outage');
  t.equal((await protectedGet(late.url, alice.accessToken)).status, 200, 'and still accepts a valid token');

  const notified = await waitUntil(
    () => hasOrderNotification(front, alice.accessToken, orderId),
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  t.ok(
    orderId !== undefined && notified !== undefined,
    `its order_placed notification arrives after Redis returned (seen ${notified === undefined ? 'never' : `${Date.now() - backAt} ms after Redis restarted`})`,
  );

  const loginAfter = await call(front, 'POST', '/auth/login', { json: alice.credentials });
  t.equal(loginAfter.status, 200, `login works after Redis returned (${Date.now() - backAt} ms after)`);
  t.same(stack.unexpectedExits(), [], 'no instance exited without being told to');
});
