/**
 * The case a drain cannot cover (issue 20): an instance SIGKILLed while it handles requests. nginx
 * resends what it had sent there, POST /orders and POST /auth/login included (with the same
 * Idempotency-Key, nginx's $request_id: the clients send none), on the public server when a gateway
 * dies and on the internal servers when an auth or orders instance dies. A resent order that the
 * dead instance had already placed (or forwarded) is answered with that order, not placed again; a
 * resent login whose first try had started a session revokes that session. Checked: no client
 * request failed (no client retries), orders' database holds exactly the orders the clients got a
 * 201 for, and each user's live sessions are exactly its first and those of the logins answered 200.
 */
import { test } from 'tap';
import { DEFAULT_FAIL_TIMEOUT_SECONDS } from '../../infra/nginx/render.mjs';
import { checkOrdersAgainstAnswers, checkSessionsAgainstLogins, registerAndLogin, scaleSkipReason, sleep, startLoad, startStack, startingSessions, type Session } from './harness/index.js';

const skip = scaleSkipReason();

test('SIGKILL of a gateway, an auth and an orders instance under order and login load: nothing fails, no order lost or placed twice, no orphan session', { skip }, async (t) => {
  const stack = await startStack(t, { name: 'crashresend', instances: { orders: 2 } });
  const sessions: Session[] = [];
  for (let i = 0; i < 8; i += 1) sessions.push(await registerAndLogin(stack.front, `crash${i}`));
  const starting = startingSessions(sessions);
  // Order-heavy, a login every 6th operation, no pause to speak of, no client retries: whatever is
  // in flight at a kill is nginx's to resend.
  const load = startLoad({ base: stack.front, sessions, pauseMs: 2, refreshEvery: 10, orderEvery: 2, loginEvery: 6, retries: 0, maxDurationMs: 120_000 });
  await sleep(1_500);
  const logBefore = stack.nginx.accessLog().length;

  for (const victim of [stack.gateways[0], stack.instancesOf('auth')[0]!, stack.instancesOf('orders')[0]!]) {
    const before = load.recorder.total;
    const exit = await victim.stop('SIGKILL');
    t.equal(exit.signal, 'SIGKILL', `${victim.instanceName} killed under load`);
    await sleep(1_000);
    await victim.start();
    // Back in nginx's rotation after fail_timeout; the next victim's peer must be live by then.
    await sleep(DEFAULT_FAIL_TIMEOUT_SECONDS * 1_000 + 1_000);
    t.comment(`${victim.instanceName}: ${load.recorder.total - before} client requests around the kill, failures so far ${load.recorder.failed}`);
  }
  await load.stop();
  // nginx logs every try of a request: more than one upstream means it was resent elsewhere.
  const resent = stack.nginx
    .accessLog()
    .slice(logBefore)
    .filter((line) => /upstream=\S+(?:,| :) /.test(line));
  const resentOf = (path: string) => resent.filter((line) => line.includes(`"POST ${path} `)).length;
  t.comment(`load: ${load.recorder.summary()}; nginx resent ${resent.length} request(s), ${resentOf('/orders')} of them POST /orders, ${resentOf('/auth/login')} POST /auth/login`);
  t.equal(load.recorder.failed, 0, `zero failed client requests of ${load.recorder.total}${load.recorder.failed ? `:\n${load.recorder.describeFailures()}` : ''}`);
  const answered = await checkOrdersAgainstAnswers(t, stack, sessions, load.recorder);
  t.ok(answered > 50, `orders were placed throughout (${answered})`);
  const logins = await checkSessionsAgainstLogins(t, stack, starting, load.recorder);
  t.ok(logins > 20, `logins throughout (${logins})`);
  t.same(stack.unexpectedExits(), [], 'no instance exited without being told to');
});
