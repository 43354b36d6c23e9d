// Revocations are written to PostgreSQL first; the bus only carries the news. These tests break
// the bus and check the news still reaches the gateways once it is back.
import { test } from 'tap';
import { Redis } from 'ioredis';
import { realRedisUrl } from '@keygate/testing';
import { removeClient } from '../../src/oauth/clients.js';
import { publishRevocation } from '../../src/revocations/service.js';
import { retentionSeconds, revokeSigningKey } from '../../src/keys/rotation.js';
import { bearer, claimsOf, http, registerAndLogin, startAuth, waitFor } from '../helpers.js';
import { register } from '../oauth-helpers.js';

async function revokedMembers(ctx: { bus: { listExpiring(set: string): Promise<Array<{ member: string }>> } }): Promise<string[]> {
  return (await ctx.bus.listExpiring('revoked')).map((entry) => entry.member);
}

const hasAll = (members: readonly string[], expected: readonly string[]) => expected.every((member) => members.includes(member));

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

test('client and key revocations made while the bus was down are re-announced once it works again', async (t) => {
  const auth = await startAuth(t);
  const { ctx, config } = auth;
  const service = await register(auth, { name: 'billing', grants: ['client_credentials'] });
  const kid = ctx.keys.signingKey()!.kid;
  const received: string[] = [];
  const unsubscribe = await ctx.bus.subscribe('revocations', (message) => received.push(message));
  t.teardown(unsubscribe);

  const { publish, addExpiring } = ctx.bus;
  let down = true;
  const unavailable = () => Promise.reject(Object.assign(new Error('Redis is unavailable'), { code: 'ERR_BUS_UNAVAILABLE' }));
  ctx.bus.publish = (...args) => (down ? unavailable() : publish.apply(ctx.bus, args));
  ctx.bus.addExpiring = (...args) => (down ? unavailable() : addExpiring.apply(ctx.bus, args));
  t.teardown(() => {
    ctx.bus.publish = publish;
    ctx.bus.addExpiring = addExpiring;
  });

  t.equal(await removeClient(ctx, service.id), true, 'the delete succeeds: PostgreSQL holds the revocation');
  const revoked = await revokeSigningKey(ctx.db, config, kid);
  await publishRevocation(ctx, 'key', kid, revoked.revoked.revoked_at!.getTime() + retentionSeconds(config) * 1000);
  t.same(await revokedMembers(ctx), [], 'nothing reached the bus while it was down');

  down = false;
  const expected = [`client:${service.id}`, `key:${kid}`];
  t.ok(await waitFor(async () => hasAll(await revokedMembers(ctx), expected), 5_000), 'both are in the expiring set once the bus works');
  const announced = () => received.map((text) => JSON.parse(text) as { type: string; id: string; until: number });
  t.ok(await waitFor(() => hasAll(announced().map((m) => `${m.type}:${m.id}`), expected), 5_000), 'and announced on the channel');
  const client = announced().find((m) => m.type === 'client' && m.id === service.id)!;
  const key = announced().find((m) => m.type === 'key' && m.id === kid)!;
  const recorded = await ctx.db.selectFrom('auth.revoked_clients').select('revoked_until').where('client_id', '=', service.id).executeTakeFirstOrThrow();
  t.equal(client.until, recorded.revoked_until.getTime(), "the client's until is the recorded one");
  t.equal(key.until, revoked.revoked.revoked_at!.getTime() + retentionSeconds(config) * 1000, "the key's until covers the key retention window");
});

test('after Redis comes back empty, recent revocations are written again', { skip: realRedisUrl ? false : 'needs REDIS_URL (a real reconnect)' }, async (t) => {
  const auth = await startAuth(t);
  const user = await registerAndLogin(auth.base);
  const sid = claimsOf(user.accessToken).sid as string;
  t.equal((await http(auth.base, 'POST', '/auth/logout-all', { headers: bearer(user.accessToken) })).status, 204);
  t.ok(await waitFor(async () => (await revokedMembers(auth.ctx)).includes(`session:${sid}`), 5_000));
  const service = await register(auth, { name: 'billing', grants: ['client_credentials'] });
  t.equal(await removeClient(auth.ctx, service.id), true);
  const kid = auth.ctx.keys.signingKey()!.kid;
  await revokeSigningKey(auth.ctx.db, auth.config, kid);
  const expected = [`session:${sid}`, `client:${service.id}`, `key:${kid}`];

  // Redis restarted without persistence: the set is gone, and the command connection comes back
  // (a real reconnect: the server drops it, as a restart would).
  const admin = new Redis(realRedisUrl!);
  t.teardown(() => admin.disconnect());
  await admin.del(`${auth.config.redisPrefix}revoked`);
  t.notOk((await revokedMembers(auth.ctx)).includes(`session:${sid}`));
  const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'normal')).split('\n');
  const commandConnections = clients.filter((line) => line.includes(` name=keygate-bus:cmd:${auth.config.redisPrefix}`.slice(0, 64)));
  t.ok(commandConnections.length > 0, 'found the auth instance\'s command connection');
  for (const line of commandConnections) await admin.call('CLIENT', 'KILL', 'ID', /(?:^| )id=(\d+)/.exec(line)![1]!);
  t.ok(await waitFor(async () => hasAll(await revokedMembers(auth.ctx), expected), 5_000), 're-announced after the reconnect: the session, the client and the key');
});
