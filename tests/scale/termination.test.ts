/**
 * Instances stopping under load. SIGTERM (a deploy, a scale-down) to any instance (2 of each
 * service here): it drains, nginx sends new requests to the other one, and clients see zero
 * failures. SIGKILL of an auth instance (a crash): requests in flight there may fail, but every
 * client succeeds on retry and no session or refresh chain is broken (no false theft detection,
 * one session each).
 */
import tap, { test } from 'tap';
import { DEFAULT_FAIL_TIMEOUT_SECONDS } from '../../infra/nginx/render.mjs';
import {
  call,
  peek,
  protectedGet,
  refresh,
  registerAndLogin,
  scaleSkipReason,
  sessionFrom,
  sleep,
  startLoad,
  type Session,
  startStack,
} from './harness/index.js';

const skip = scaleSkipReason();
// Ten restarts of real processes: on a busy 2-core machine each can take 20 s, so this file gets
// more than the suite's 180 s per file (every wait inside is bounded).
tap.setTimeout(300_000);

test('instances stopping under load', { skip }, async (t) => {
  const stack = await startStack(t, { name: 'termination', ordersInstances: 2, notificationsInstances: 2 });

  await t.test('SIGTERM to every instance in turn under load: zero failed client requests', async (t) => {
    const sessions: Session[] = [];
    for (let i = 0; i < 6; i += 1) sessions.push(await registerAndLogin(stack.front, `term${i}`));
    const load = startLoad({ base: stack.front, sessions, pauseMs: 10, refreshEvery: 6, maxDurationMs: 120_000 });
    // gateway-1, auth-1, gateway-2, auth-2: each restart runs while the next victim is stopped,
    // but an instance's peer is only stopped once the instance is back, and nginx has had its
    // fail_timeout to notice (open-source nginx only finds out by trying again): the rolling-restart
    // rule of docs/operations.md.
    const restarts = new Map<string, Promise<void>>();
    const terminate = async (instance: (typeof stack.all)[number], peerBack?: Promise<void>) => {
      if (peerBack) {
        await peerBack;
        await sleep(DEFAULT_FAIL_TIMEOUT_SECONDS * 1000 + 500);
      }
      await sleep(1_500);
      const before = load.recorder.total;
      const exit = await instance.stop('SIGTERM');
      t.equal(
        exit.code,
        0,
        `${instance.instanceName} drained and exited 0 after SIGTERM (${exit.ms} ms, ${load.recorder.total - before} client requests meanwhile)`,
      );
      const startedAt = Date.now();
      restarts.set(
        instance.instanceName,
        instance.start().then(() => {
          t.comment(
            `${instance.instanceName}: exit ${exit.code} ${exit.ms} ms after SIGTERM, ready again ${Date.now() - startedAt} ms after restart; failures so far ${load.recorder.failed}`,
          );
        }),
      );
    };
    const [gw1, gw2] = stack.gateways;
    const [auth1, auth2] = stack.auth;
    const [orders1, orders2] = stack.orders;
    const [notifications1, notifications2] = stack.notifications;
    await terminate(gw1);
    await terminate(auth1);
    await terminate(orders1!);
    await terminate(notifications1!);
    await terminate(gw2, restarts.get('gateway-1'));
    await terminate(auth2, restarts.get('auth-1'));
    await terminate(orders2!, restarts.get('orders-1'));
    await terminate(notifications2!, restarts.get('notifications-1'));
    await Promise.all(restarts.values());
    await sleep(1_500);
    await load.stop();
    t.comment(`load: ${load.recorder.summary()}`);
    // The one loss open-source nginx cannot prevent when an instance is stopped without first being
    // drained at the balancer (docs/operations.md, Known gaps): a POST sitting in the closing
    // instance's accept queue is reset, nginx answers 502 itself and does not resend a POST. It is
    // counted and printed here, bounded, and listed as an open gap; any other failure fails the test.
    const acceptQueueLosses = load.recorder.failures.filter((f) => f.kind === 'order' && /^502\b/.test(f.detail) && f.detail.includes('nginx'));
    const otherFailures = load.recorder.failures.filter((f) => !acceptQueueLosses.includes(f));
    t.comment(`POSTs lost in a closing instance's accept queue (known gap): ${acceptQueueLosses.length} of ${load.recorder.total} requests`);
    t.equal(otherFailures.length, 0, `zero other failed client requests${otherFailures.length ? `:\n${load.recorder.describeFailures()}` : ''}`);
    t.ok(acceptQueueLosses.length <= 2, `the accept-queue race stays rare (${acceptQueueLosses.length})`);
    t.ok(load.recorder.total > 200, `the load was steady (${load.recorder.total} requests)`);
  });

  await t.test('SIGKILL of an auth instance: sessions stay consistent and clients succeed on retry', async (t) => {
    const sessions: Session[] = [];
    for (let i = 0; i < 8; i += 1) sessions.push(await registerAndLogin(stack.front, `kill${i}`));
    const sids = sessions.map((session) => peek(session.accessToken).sid);
    // Refresh-heavy: most requests at the moment of the kill are refreshes in flight on auth.
    const load = startLoad({
      base: stack.front,
      sessions,
      pauseMs: 5,
      refreshEvery: 2,
      orderEvery: 1_000,
      retries: 4,
      maxDurationMs: 60_000,
    });
    await sleep(1_500);
    const victim = stack.auth[0];
    const logBefore = stack.nginx.accessLog().length;
    const exit = await victim.stop('SIGKILL');
    t.equal(exit.signal, 'SIGKILL', `${victim.instanceName} killed`);
    await sleep(2_000);
    await victim.start();
    await sleep(1_500);
    await load.stop();
    // nginx logs every try of a request: more than one upstream means it was resent elsewhere.
    const resent = stack.nginx
      .accessLog()
      .slice(logBefore)
      .filter((line) => /upstream=\S+(?:,| :) /.test(line)).length;
    t.comment(
      `load around SIGKILL of ${victim.instanceName}: ${load.recorder.summary()}; nginx resent ${resent} requests to another instance`,
    );
    t.equal(
      load.recorder.failed,
      0,
      `every operation succeeded within its retries${load.recorder.failed ? `:\n${load.recorder.describeFailures()}` : ''}`,
    );
    // Each chain is whole: the latest refresh token works, the session is the one from login,
    // the user has exactly one session, and its access token passes every gateway.
    for (const [index, session] of sessions.entries()) {
      const next = sessionFrom(session.credentials, await refresh(stack.front, session));
      t.ok(next, `client ${index}: the refresh chain continues after the crash`);
      if (!next) continue;
      t.equal(peek(next.accessToken).sid, sids[index], `client ${index}: still the session from login`);
      const list = await call(stack.front, 'GET', '/auth/sessions', { token: next.accessToken });
      t.equal(Array.isArray(list.body) ? list.body.length : -1, 1, `client ${index}: exactly one session`);
      const verdicts = await Promise.all(stack.gateways.map((gateway) => protectedGet(gateway.url, next.accessToken)));
      t.same(
        verdicts.map((reply) => reply.status),
        [200, 200],
        `client ${index}: its token passes both gateways`,
      );
    }
  });

  t.same(stack.unexpectedExits(), [], 'no instance exited without being told to');
});
