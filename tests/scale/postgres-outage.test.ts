/**
 * PostgreSQL stopped: login, refresh and registration answer 503 with Retry-After (never 401 or
 * 500, and never a spent refresh token); token verification at the gateways keeps working from
 * cached keys and the in-memory revocation list; everything recovers without a restart.
 *
 * auth and the gateways use a private PostgreSQL cluster (startTemporaryPostgres) that this test
 * stops; orders and notifications keep the machine's server, so a 200 from GET /orders shows the
 * gateway's verdict alone, and stopping the private cluster disturbs no other test file.
 */
import { test } from 'tap';
import { inCi, postgresBinDir, startTemporaryPostgres } from '@keygate/testing';
import {
  Stack,
  call,
  describe,
  errorCode,
  login,
  newCredentials,
  protectedGet,
  refresh,
  registerAndLogin,
  scaleSkipReason,
  sessionFrom,
  sleep,
  timeUntilRefused,
  waitUntil,
  type Reply,
} from './harness/index.js';

const skip = scaleSkipReason() || (!postgresBinDir() && !inCi ? 'PostgreSQL server binaries not installed' : false);

/** A dependency-down answer as the contract words it: 503, Retry-After, a JSON error body. */
function isUnavailable(reply: Reply): boolean {
  return reply.status === 503 && /^\d+$/.test(reply.headers.get('retry-after') ?? '') && typeof errorCode(reply) === 'string';
}

test('PostgreSQL stopped and started again', { skip }, async (t) => {
  const postgres = await startTemporaryPostgres();
  if (!postgres) throw new Error('the PostgreSQL server binaries are required (CI installs them)');
  const stack = await Stack.start({ name: 'pgdown', databaseUrls: { auth: postgres.url, gateway: postgres.url } }).catch(
    (error: unknown) => {
      postgres.destroy();
      throw error;
    },
  );
  t.teardown(async () => {
    if (!t.passing()) process.stderr.write(`${stack.diagnostics()}\n`);
    await stack.stop();
    postgres.destroy();
  });
  const { front } = stack;
  const gateways = stack.gateways.map((gateway) => gateway.url);

  const alice = await registerAndLogin(front, 'alice');
  const bob = await registerAndLogin(front, 'bob');
  t.equal((await call(front, 'POST', '/auth/logout', { cookie: bob.cookie })).status, 204, 'bob logs out before the outage');
  t.ok((await timeUntilRefused(gateways, bob.accessToken, { timeoutMs: 1_000 })) !== undefined, "bob's token is refused everywhere");

  postgres.stop();
  const stoppedAt = Date.now();
  const ROUNDS = 8;
  const seen = {
    login: [] as string[],
    refresh: [] as string[],
    register: [] as string[],
    verify: [] as number[],
    revoked: [] as number[],
    garbage: [] as number[],
  };
  const unavailableMs: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const loginReply = await call(front, 'POST', '/auth/login', { json: alice.credentials });
    const refreshReply = await refresh(front, alice);
    const registerReply = await call(front, 'POST', '/auth/register', { json: newCredentials('outage') });
    for (const [name, reply] of [
      ['login', loginReply],
      ['refresh', refreshReply],
      ['register', registerReply],
    ] as const) {
      seen[name].push(isUnavailable(reply) ? '503+Retry-After' : describe(reply));
      unavailableMs.push(reply.ms);
    }
    for (const base of [front, ...gateways]) {
      seen.verify.push((await protectedGet(base, alice.accessToken)).status);
      seen.revoked.push((await protectedGet(base, bob.accessToken)).status);
      seen.garbage.push((await protectedGet(base, 'eyJhbGciOiJSUzI1NiJ9.e30.AAAA')).status);
    }
    await sleep(250);
  }
  const expected = Array(ROUNDS).fill('503+Retry-After');
  t.same(seen.login, expected, 'login: 503 with Retry-After throughout');
  t.same(seen.refresh, expected, 'refresh: 503 with Retry-After throughout (not 401: the token is fine)');
  t.same(seen.register, expected, 'register: 503 with Retry-After throughout');
  t.same(seen.verify, Array(ROUNDS * 3).fill(200), "alice's token still passes nginx and both gateways");
  t.same(seen.revoked, Array(ROUNDS * 3).fill(401), "bob's revoked token is still refused");
  t.same(seen.garbage, Array(ROUNDS * 3).fill(401), 'a forged token is still refused');
  t.ok(Math.max(...unavailableMs) < 5_000, `503s come quickly, not after hanging (slowest ${Math.max(...unavailableMs).toFixed(0)} ms)`);
  for (const auth of stack.auth) {
    t.equal((await call(auth.url, 'GET', '/readyz')).status, 503, `${auth.instanceName} reports not ready`);
    t.equal((await call(auth.url, 'GET', '/healthz')).status, 200, `${auth.instanceName} is alive`);
  }
  t.comment(
    `outage of ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s: ${ROUNDS * 3} auth calls all 503 + Retry-After, ${ROUNDS * 9} gateway verdicts unchanged`,
  );

  postgres.start();
  const restartedAt = Date.now();
  let recovered: ReturnType<typeof sessionFrom>;
  const loginBack = await waitUntil(
    async () => {
      const reply = await call(front, 'POST', '/auth/login', { json: alice.credentials });
      recovered = sessionFrom(alice.credentials, reply);
      return recovered !== undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  t.ok(loginBack !== undefined, `login works again ${loginBack ?? '(never)'} ms after PostgreSQL is back, without restarting anything`);
  t.comment(`recovery: first successful login ${Date.now() - restartedAt} ms after PostgreSQL started`);
  // The refresh token presented during the outage was not spent by the failed attempts.
  const continued = sessionFrom(alice.credentials, await refresh(front, alice));
  t.ok(continued, "alice's refresh token from before the outage still works");
  if (continued) t.equal((await protectedGet(front, continued.accessToken)).status, 200, 'and its new access token passes');
  t.ok(
    (await login(front, newCredentials('after')).catch(() => undefined)) === undefined,
    'an unknown account is still refused after recovery',
  );
  const ready = await waitUntil(
    async () => (await Promise.all(stack.auth.map((a) => call(a.url, 'GET', '/readyz')))).every((r) => r.status === 200),
    {
      timeoutMs: 10_000,
      intervalMs: 250,
    },
  );
  t.ok(ready !== undefined, 'both auth instances report ready again');
  t.same(
    stack.all.map((instance) => instance.startCount),
    stack.all.map(() => 1),
    'no instance was restarted',
  );
  t.same(stack.unexpectedExits(), [], 'no instance exited without being told to');
});
