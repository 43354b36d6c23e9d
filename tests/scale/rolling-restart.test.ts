/**
 * A rolling restart of both gateways under keep-alive load, without touching nginx (issue 20):
 * the documented procedure (nginx `down` + reload + SIGTERM) reset 21 keep-alive requests at
 * ~330 req/s, because every reload closes the idle client connections of nginx's old workers.
 * The gateways' procedure is now SIGTERM alone: the gateway reports not ready and serves out its
 * drain delay with `Connection: close`, then closes its listener at an instant its accept queue is
 * empty (service-kit's listener-close.ts: closing it with connections waiting there reset a POST
 * nginx had sent, in 4 of 9 runs before); nginx's next connection there is refused before anything
 * was sent, so it goes to the other gateway whatever the method, and the stopped one is out of
 * rotation for fail_timeout (passive health). After the restart, wait fail_timeout before stopping
 * the peer. Clients keep their connections to nginx throughout.
 *
 * What is left of the listener's last instant (a connection the kernel completed between the
 * empty-queue check and close(2), or still in SYN_RECV at the check: nginx has sent its request and
 * gets a reset) no longer fails a request: nginx resends it to the peer, a POST /orders included,
 * with the same Idempotency-Key ($request_id), and orders places a resent order once; a login is
 * resent too, and auth revokes the session its first try started (same user, same key). So the
 * checks are the client's (nothing failed, logins included) and the databases' (every order the
 * client got a 201 for exists exactly once, and no other order exists; each user's live sessions
 * are exactly its first and those of the logins answered 200).
 */
import { test } from 'tap';
import { DEFAULT_FAIL_TIMEOUT_SECONDS } from '../../infra/nginx/render.mjs';
import { checkOrdersAgainstAnswers, checkSessionsAgainstLogins, registerAndLogin, scaleSkipReason, sleep, startLoad, startStack, startingSessions, type Session } from './harness/index.js';

const skip = scaleSkipReason();
const DRAIN_DELAY_MS = 500;
/** Each gateway is stopped and restarted this many times, alternating. */
const ROUNDS = 2;

test('rolling restart of both gateways under keep-alive load: zero failed requests', { skip }, async (t) => {
  const stack = await startStack(t, { name: 'rolling', env: { gateway: { SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS) } } });
  const sessions: Session[] = [];
  for (let i = 0; i < 8; i += 1) sessions.push(await registerAndLogin(stack.front, `rolling${i}`));
  const starting = startingSessions(sessions);
  // fetch's keep-alive pool: each worker's connection to nginx lives across every restart. Every
  // 10th operation is a login (argon2id: the auth instances' CPU bounds how many).
  const load = startLoad({ base: stack.front, sessions, pauseMs: 5, refreshEvery: 6, orderEvery: 3, loginEvery: 10, maxDurationMs: 120_000 });
  await sleep(1_500);

  for (let round = 0; round < ROUNDS; round += 1) {
    for (const gateway of stack.gateways) {
      const before = load.recorder.total;
      const exit = await gateway.stop('SIGTERM');
      t.equal(exit.code, 0, `${gateway.instanceName} drained and exited 0 after ${exit.ms} ms`);
      const startedAt = Date.now();
      await gateway.start();
      const readyMs = Date.now() - startedAt;
      // nginx tries the instance again only after fail_timeout: its peer must not stop before.
      await sleep(DEFAULT_FAIL_TIMEOUT_SECONDS * 1_000 + 1_000);
      t.comment(
        `${gateway.instanceName}: ready ${readyMs} ms after restart; ${load.recorder.total - before} client requests meanwhile, failures so far ${load.recorder.failed}`,
      );
    }
  }
  await load.stop();
  t.comment(`load: ${load.recorder.summary()}`);
  t.equal(load.recorder.failed, 0, `zero failed client requests of ${load.recorder.total}${load.recorder.failed ? `:\n${load.recorder.describeFailures()}` : ''}`);
  // What nginx resent after a reset (a request it had sent as a gateway closed its listener): the
  // client never sees these; each POST among them reached orders at most twice with one key.
  const resent = stack.nginx
    .errorLog()
    .split('\n')
    // One [error] line per reset request (a [warn] line follows when the instance is disabled).
    .filter((line) => line.includes('[error]') && line.includes('while reading response header from upstream'));
  t.comment(`nginx resent ${resent.length} request(s) after a reset${resent.length ? `:\n${resent.map((line) => `  ${line.slice(0, 300)}`).join('\n')}` : ''}`);

  // Every 201 is one order in orders' database, and every order there was answered with a 201.
  const answered = await checkOrdersAgainstAnswers(t, stack, sessions, load.recorder);
  t.ok(answered > 50, `orders were placed throughout (${answered})`);
  // Every login answered 200 is a live session, and no other session of these users is.
  const logins = await checkSessionsAgainstLogins(t, stack, starting, load.recorder);
  t.ok(logins > 20, `logins throughout (${logins})`);
  t.ok(load.recorder.total > 500, `the load was steady (${load.recorder.total} requests)`);
  t.same(stack.unexpectedExits(), [], 'no instance exited without being told to');
});
