// Revocations are written to PostgreSQL first; the bus only carries the news. These tests break
// the bus and check the news still reaches the gateways once it is back.
import { test } from 'tap';
import { realRedisUrl } from '@keygate/testing';
import { bearer, claimsOf, http, registerAndLogin, startAuth, waitFor } from './helpers.js';

async function revokedMembers(ctx: { bus: { listExpiring(set: string): Promise<Array<{ member: string }>> } }): Promise<string[]> {
  return (await ctx.bus.listExpiring('revoked')).map((entry) => entry.member);
}

test('a revocation whose publish failed is re-announced as soon as the bus works again', async (t) => {
  const auth = await startAuth(t);
  const user = await registerAndLogin(auth.base);
  const sid = claimsOf(user.accessToken).sid as string;
  const received: string[] = [];
  const unsubscribe = await auth.ctx.bus.subscribe('revocations', (message) => received.push(message));
  t.teardown(unsubscribe);

  // The bus is "down": every publish and expiring-set write fails.
  const { publish, addExpiring } = auth.ctx.bus;
  let down = true;
  const unavailable = () => Promise.reject(Object.assign(new Error('Redis is unavailable'), { code: 'ERR_BUS_UNAVAILABLE' }));
  auth.ctx.bus.publish = (...args) => (down ? unavailable() : publish.apply(auth.ctx.bus, args));
  auth.ctx.bus.addExpiring = (...args) => (down ? unavailable() : addExpiring.apply(auth.ctx.bus, args));
  t.teardown(() => {
    auth.ctx.bus.publish = publish;
    auth.ctx.bus.addExpiring = addExpiring;
  });

  const loggedOut = await http(auth.base, 'POST', '/auth/logout-all', { headers: bearer(user.accessToken) });
  t.equal(loggedOut.status, 204, 'the logout itself succeeds: PostgreSQL holds the revocation');
  t.notOk((await revokedMembers(auth.ctx)).includes(`session:${sid}`), 'nothing reached the bus while it was down');

  down = false;
  t.ok(await waitFor(async () => (await revokedMembers(auth.ctx)).includes(`session:${sid}`), 5_000), 'the session is in the expiring set once the bus works');
  t.ok(await waitFor(() => received.some((m) => m.includes(sid)), 5_000), 'and the gateways were told on the channel');
  const message = JSON.parse(received.find((m) => m.includes(sid))!) as { type: string; id: string; until: number };
  t.equal(message.type, 'session');
  t.ok(message.until > Date.now(), 'until lies in the future');
});

test('after Redis comes back empty, recent revocations are written again', { skip: realRedisUrl ? false : 'needs REDIS_URL (a real reconnect)' }, async (t) => {
  const auth = await startAuth(t);
  const user = await registerAndLogin(auth.base);
  const sid = claimsOf(user.accessToken).sid as string;
  t.equal((await http(auth.base, 'POST', '/auth/logout-all', { headers: bearer(user.accessToken) })).status, 204);
  t.ok(await waitFor(async () => (await revokedMembers(auth.ctx)).includes(`session:${sid}`), 5_000));

  // Redis restarted without persistence: the set is gone, and the connection is ready again.
  const redis = auth.ctx.bus.redis!;
  await redis.del(`${auth.config.redisPrefix}revoked`);
  t.notOk((await revokedMembers(auth.ctx)).includes(`session:${sid}`));
  redis.emit('ready');
  t.ok(await waitFor(async () => (await revokedMembers(auth.ctx)).includes(`session:${sid}`), 5_000), 're-announced after the reconnect');
});
