/**
 * nginx's own errors in the contract's format (issue 20): when no gateway answers, nginx itself
 * answers 502, and that answer must be the contract's JSON with Retry-After like every other
 * error, not nginx's HTML page. The gateways' own answers (a 401 here) still pass through
 * unchanged, and the first gateway back in rotation serves again.
 */
import { test, type Test } from 'tap';
import { call, protectedGet, registerAndLogin, scaleSkipReason, startStack, waitUntil, type Reply } from './harness/index.js';

const skip = scaleSkipReason();

function assertEdgeBadGateway(t: Test, reply: Reply, what: string): void {
  t.equal(reply.status, 502, `${what}: 502`);
  t.match(reply.headers.get('content-type') ?? '', /^application\/json/, `${what}: JSON`);
  t.same(reply.body, { error: 'bad_gateway', error_description: 'The upstream service is unavailable.' }, `${what}: the contract's body`);
  t.equal(reply.headers.get('retry-after'), '5', `${what}: Retry-After`);
}

test("nginx's own 502 is the contract's JSON with Retry-After", { skip }, async (t) => {
  const stack = await startStack(t, { name: 'edgeerr' });
  const session = await registerAndLogin(stack.front, 'edge');

  const anonymous = await call(stack.front, 'GET', '/orders');
  t.equal(anonymous.status, 401, "a gateway's own error passes through");
  t.equal(anonymous.headers.get('retry-after'), null, 'and is not replaced by an edge page (no Retry-After added)');
  t.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/, "with the gateway's own headers");

  for (const gateway of stack.gateways) await gateway.stop('SIGTERM');

  assertEdgeBadGateway(t, await protectedGet(stack.front, session.accessToken), 'GET with no gateway up');
  // A POST too (nothing was sent anywhere: the connection was refused), and on a path of its own location.
  assertEdgeBadGateway(t, await call(stack.front, 'POST', '/auth/login', { json: { email: 'a@b.c', password: 'x' } }), 'POST /auth/login');
  assertEdgeBadGateway(t, await call(stack.front, 'POST', '/auth/refresh'), 'POST /auth/refresh');

  await stack.gateways[0].start();
  // nginx tries an instance again after fail_timeout (3 s).
  const back = await waitUntil(async () => (await protectedGet(stack.front, session.accessToken)).status === 200, { timeoutMs: 15_000 });
  t.ok(back !== undefined, `served again once a gateway is back (${back} ms)`);
});
