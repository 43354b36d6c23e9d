/**
 * Sessions across instances: a session started on one gateway continues on the other and ends
 * through nginx, and every gateway refuses its access token within 1 s of the logout; concurrent
 * refreshes of one session, spread over both auth instances, keep one refresh chain.
 */
import { test } from 'tap';
import {
  call,
  describe,
  errorCode,
  login,
  newCredentials,
  peek,
  percentile,
  protectedGet,
  refresh,
  refreshCookie,
  register,
  registerAndLogin,
  scaleSkipReason,
  sessionFrom,
  type Session,
  startStack,
  timeUntilRefused,
} from './harness/index.js';

const skip = scaleSkipReason();

test('sessions across instances', { skip }, async (t) => {
  const stack = await startStack(t, { name: 'sessions' });

  const [gw1, gw2] = stack.gateways;

  await t.test('login on gateway-1, refresh on gateway-2, logout through nginx: every gateway refuses the token within 1 s', async (t) => {
    const TRIALS = 100;
    const POLL_MS = 5;
    const credentials = newCredentials('revoke');
    await register(stack.front, credentials);
    const latencies: number[] = [];
    const problems: string[] = [];
    let lastRevoked: string | undefined;
    const deadline = Date.now() + 90_000;
    for (let trial = 0; trial < TRIALS && Date.now() < deadline; trial += 1) {
      const first = await login(gw1.url, credentials);
      const refreshed = sessionFrom(credentials, await refresh(gw2.url, first));
      if (!refreshed) {
        problems.push(`trial ${trial}: refresh through gateway-2 failed`);
        break;
      }
      // The token must be accepted everywhere before the logout, or a later 401 proves nothing.
      const before = await Promise.all(stack.gateways.map((gw) => protectedGet(gw.url, refreshed.accessToken)));
      if (before.some((reply) => reply.status !== 200)) {
        problems.push(`trial ${trial}: token refused before logout: ${before.map(describe).join(' | ')}`);
        break;
      }
      const logout = await call(stack.front, 'POST', '/auth/logout', { cookie: refreshed.cookie });
      if (logout.status !== 204) {
        problems.push(`trial ${trial}: logout through nginx: ${describe(logout)}`);
        break;
      }
      // From the logout's answer until every gateway refuses the token (the slowest one counts).
      const refusedAfter = await timeUntilRefused(
        stack.gateways.map((gw) => gw.url),
        refreshed.accessToken,
        { timeoutMs: 2_000, pollMs: POLL_MS },
      );
      latencies.push(refusedAfter ?? Number.POSITIVE_INFINITY);
      lastRevoked = refreshed.accessToken;
    }
    t.same(problems, [], 'every trial ran');
    t.equal(latencies.length, TRIALS, `${TRIALS} trials`);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const worst = Math.max(...latencies);
    t.comment(
      `revocation seen by both gateways after logout: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${worst.toFixed(1)} ms (${latencies.length} trials, polling every ${POLL_MS} ms)`,
    );
    t.ok(worst <= 1_000, `every gateway refused the token within 1 s in every trial (max ${worst.toFixed(1)} ms)`);
    // And it stays refused, through nginx and on each gateway.
    if (lastRevoked) {
      const later = await Promise.all([stack.front, gw1.url, gw2.url].map((base) => protectedGet(base, lastRevoked!)));
      t.same(
        later.map((reply) => reply.status),
        [401, 401, 401],
        'a revoked token stays refused everywhere',
      );
    }
  });

  await t.test('concurrent refreshes of one session over both auth instances keep one chain', async (t) => {
    const SESSIONS = 12;
    const CONCURRENT = 6;
    const ROUNDS = 3;
    const sessions: Session[] = [];
    for (let i = 0; i < SESSIONS; i += 1) sessions.push(await registerAndLogin(stack.front, `chain${i}`));
    const logBefore = stack.nginx.accessLog().length;
    let refreshes = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      await Promise.all(
        sessions.map(async (session, index) => {
          // Half through each gateway; nginx's auth server spreads them over both auth instances.
          const replies = await Promise.all(Array.from({ length: CONCURRENT }, (_, k) => refresh(stack.gateways[k % 2]!.url, session)));
          refreshes += replies.length;
          const statuses = replies.map((reply) => reply.status);
          t.same(
            statuses,
            Array(CONCURRENT).fill(200),
            `round ${round}, session ${index}: every concurrent refresh answered 200 (${replies
              .filter((r) => r.status !== 200)
              .map(describe)
              .join(' | ')})`,
          );
          const successors = new Set(replies.map((reply) => refreshCookie(reply)));
          t.equal(
            successors.size,
            1,
            `round ${round}, session ${index}: one successor for all ${CONCURRENT} (idempotent retry, never a second live token)`,
          );
          const next = sessionFrom(session.credentials, replies[0]!);
          if (next) {
            session.cookie = next.cookie;
            session.accessToken = next.accessToken;
          }
        }),
      );
    }
    // The chain is intact: the latest token refreshes, each user has exactly one session, and
    // every access token issued along the way names that one session.
    for (const [index, session] of sessions.entries()) {
      const reply = await refresh(stack.front, session);
      const next = sessionFrom(session.credentials, reply);
      t.ok(next, `session ${index}: the chain continues (status ${reply.status})`);
      if (!next) continue;
      const list = await call(stack.front, 'GET', '/auth/sessions', { token: next.accessToken });
      t.equal(list.status, 200, `session ${index}: list sessions`);
      t.equal(Array.isArray(list.body) ? list.body.length : -1, 1, `session ${index}: exactly one session`);
      t.equal(peek(next.accessToken).sid, peek(session.accessToken).sid, `session ${index}: same sid throughout`);
    }
    // Spread: which auth instance answered each refresh, from nginx's access log (auth server).
    const authPorts = stack.auth.map((instance) => `127.0.0.1:${instance.port}`);
    const served = new Map(authPorts.map((port) => [port, 0]));
    for (const line of stack.nginx.accessLog().slice(logBefore)) {
      if (!line.includes('"POST /auth/refresh')) continue;
      const upstream = /upstream=(\S+)/.exec(line)?.[1];
      if (upstream && served.has(upstream)) served.set(upstream, served.get(upstream)! + 1);
    }
    const counts = [...served.values()];
    t.comment(
      `${refreshes} concurrent refreshes (${SESSIONS} sessions x ${CONCURRENT} x ${ROUNDS} rounds); auth-1 served ${counts[0]}, auth-2 served ${counts[1]}`,
    );
    t.ok(
      counts.every((count) => count > 0),
      'both auth instances served refreshes',
    );
  });

  await t.test('a spent refresh token replayed after its successor was used is refused on every instance', async (t) => {
    const session = await registerAndLogin(stack.front, 'replay');
    const spent = session.cookie;
    const next = sessionFrom(session.credentials, await refresh(gw1.url, session));
    t.ok(next, 'first refresh');
    if (!next) return;
    const after = sessionFrom(session.credentials, await refresh(gw2.url, next));
    t.ok(after, 'the successor is used');
    const replay = await refresh(gw1.url, { ...session, cookie: spent });
    t.equal(replay.status, 401, 'the spent token is refused');
    t.equal(errorCode(replay), 'invalid_grant');
  });

  t.same(stack.unexpectedExits(), [], 'no instance exited without being told to');
});
