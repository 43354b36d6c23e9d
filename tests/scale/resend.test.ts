/**
 * nginx's resend after a reset, with the rendered keygate.conf (issue 20): a request nginx had sent
 * to an instance that then reset the connection (a gateway closing its listener with the request
 * in its accept queue, or crashing while it handled it) is resent to the next instance with the
 * same Idempotency-Key — the client's, else nginx's $request_id — on the public server and on the
 * internal servers, for the routes where a repeat is safe (logins and /oauth/token included: auth
 * supersedes the first try's session by the key); a POST elsewhere (/auth/register) is never sent
 * twice. The 503 retry (a service's "not done, try later") sends the same key as well. The
 * instances are stubs that reset (or answer 503 to) every request whose key they have not seen yet
 * and answer one they have: whichever nginx tries first, the first try is reset and the resend is
 * answered, so the test does not depend on round-robin order.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'tap';
import { freePorts } from '@keygate/testing';
import { Nginx, call, nginxBinary, scaleSkipReason, sleep } from './harness/index.js';

const skip = scaleSkipReason();
/**
 * Every case resets its first try, which takes that instance out for fail_timeout; the next case
 * waits it out. The shortest fail_timeout nginx takes (whole seconds) keeps those waits short; what
 * is tested (which requests are resent, with which key) does not depend on it.
 */
const FAIL_TIMEOUT_SECONDS = 1;

interface Seen {
  instance: string;
  method: string;
  url: string;
  key: string | undefined;
  body: string;
}

/** Two instances that share what they have seen: a new key is reset after its body was read, a known one answered. */
async function stubPair(name: string, seen: Seen[]): Promise<{ ports: number[]; close(): Promise<void> }> {
  const known = new Set<string>();
  const servers: Server[] = [];
  for (const instance of [`${name}-1`, `${name}-2`]) {
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const key = keyOf(request.headers);
        seen.push({ instance, method: request.method ?? '', url: request.url ?? '', key, body });
        if (key === undefined || !known.has(key)) {
          if (key !== undefined) known.add(key);
          if (request.headers['x-stub-answer'] === '503') {
            // The contract's "not done, try later": nginx's 503 retry location tries again.
            response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
            response.end('{"error":"service_unavailable","error_description":"A dependency is unavailable; retry later."}');
          } else request.socket.destroy(); // as if the instance died after reading the request
          return;
        }
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ instance }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  return {
    ports: servers.map((server) => (server.address() as { port: number }).port),
    close: () => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))).then(() => {}),
  };
}

function keyOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['idempotency-key'];
  return typeof value === 'string' ? value : undefined;
}

test('nginx resends a reset request with the same Idempotency-Key only where a repeat is safe', { skip }, async (t) => {
  const seen: Seen[] = [];
  const gateways = await stubPair('gateway', seen);
  const auth = await stubPair('auth', seen);
  const orders = await stubPair('orders', seen);
  t.teardown(() => Promise.all([gateways.close(), auth.close(), orders.close()]));
  const [publicPort, authPort, ordersPort] = await freePorts(3);
  const prefix = mkdtempSync(join(tmpdir(), 'keygate-resend-'));
  t.teardown(() => rmSync(prefix, { recursive: true, force: true }));
  const nginx = await Nginx.start({
    binary: nginxBinary()!,
    prefix,
    publicPort: publicPort!,
    gateways: gateways.ports,
    internal: { auth: { port: authPort!, instances: auth.ports }, orders: { port: ordersPort!, instances: orders.ports } },
    failTimeoutSeconds: FAIL_TIMEOUT_SECONDS,
  });
  t.teardown(() => nginx.stop());
  const front = nginx.publicUrl;
  const tries = async (what: string, send: () => Promise<{ status: number }>) => {
    // The instance that reset is out for fail_timeout: wait it out so each case starts with both.
    // (nginx counts it in whole seconds, so one second more.)
    await sleep(FAIL_TIMEOUT_SECONDS * 1_000 + 1_200);
    seen.length = 0;
    const reply = await send();
    t.comment(`${what}: ${reply.status}, tries ${JSON.stringify(seen.map(({ instance, key }) => [instance, key]))}`);
    return { status: reply.status, tries: [...seen] };
  };

  await t.test('public server: POST /orders without a key gets $request_id, and the resend carries the same', async (t) => {
    const { status, tries: sent } = await tries('POST /orders', () => call(front, 'POST', '/orders', { json: { item: 'tea', quantity: 1 } }));
    t.equal(status, 201, 'the client never sees the reset');
    t.equal(sent.length, 2, 'sent twice');
    t.not(sent[0]!.instance, sent[1]!.instance, 'to two instances');
    t.match(sent[0]!.key, /^[0-9a-f]{32}$/, "nginx's $request_id");
    t.equal(sent[1]!.key, sent[0]!.key, 'the same key on the resend');
    t.same([sent[1]!.method, sent[1]!.url, sent[1]!.body], [sent[0]!.method, sent[0]!.url, sent[0]!.body], 'the same request');
  });

  await t.test("public server: the client's own key is sent, and resent, unchanged", async (t) => {
    const { status, tries: sent } = await tries('POST /orders with a key', () =>
      fetch(`${front}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': '"client-key-1"' }, body: '{}' }),
    );
    t.equal(status, 201);
    t.same(sent.map((entry) => entry.key), ['"client-key-1"', '"client-key-1"']);
  });

  await t.test('public server: POST /notifications/{id}/read and /auth/refresh are resent too', async (t) => {
    for (const path of ['/notifications/00000000-0000-4000-8000-000000000000/read', '/auth/refresh']) {
      const { status, tries: sent } = await tries(`POST ${path}`, () => call(front, 'POST', path));
      t.equal(status, 201, `${path}: answered by the second instance`);
      t.equal(sent.length, 2);
    }
  });

  await t.test("public server: the 503 retry sends the same key (a POST nginx may retry after a service's 503)", async (t) => {
    const { status, tries: sent } = await tries('POST /auth/login answered 503 first', () =>
      fetch(`${front}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-stub-answer': '503' }, body: '{}' }),
    );
    t.equal(status, 201);
    t.equal(sent.length, 2, 'tried twice');
    t.match(sent[0]!.key, /^[0-9a-f]{32}$/);
    t.equal(sent[1]!.key, sent[0]!.key, 'with the same $request_id');
  });

  await t.test('public server: POST /auth/login, /auth/login/mfa and /oauth/token are resent with the same key', async (t) => {
    for (const [path, send] of [
      ['/auth/login', () => call(front, 'POST', '/auth/login', { json: { email: 'a@b.c', password: 'x' } })],
      ['/auth/login/mfa', () => call(front, 'POST', '/auth/login/mfa', { json: { mfa_token: 't', code: '123456' } })],
      ['/oauth/token', () => fetch(`${front}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&username=a&password=x' })],
    ] as const) {
      const { status, tries: sent } = await tries(`POST ${path}`, send);
      t.equal(status, 201, `${path}: answered by the second instance`);
      t.equal(sent.length, 2, 'sent twice');
      t.match(sent[0]!.key, /^[0-9a-f]{32}$/);
      t.equal(sent[1]!.key, sent[0]!.key, 'with the same key: auth supersedes the session of the first try');
      t.equal(sent[1]!.body, sent[0]!.body, 'the same request');
    }
  });

  await t.test('public server: POST /auth/register is never sent twice (a second account attempt, a second mail): 502', async (t) => {
    const { status, tries: sent } = await tries('POST /auth/register', () => call(front, 'POST', '/auth/register', { json: { email: 'a@b.c', password: 'x' } }));
    t.equal(status, 502);
    t.equal(sent.length, 1, 'sent once');
  });

  await t.test("internal servers: the gateway's key is kept; orders' POSTs and auth's login are resent, registration is not", async (t) => {
    const internalOrders = nginx.internalUrl('orders');
    const keyed = await tries('internal POST /orders with the gateway-forwarded key', () =>
      fetch(`${internalOrders}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'abc123' }, body: '{}' }),
    );
    t.equal(keyed.status, 201);
    t.same(keyed.tries.map((entry) => entry.key), ['abc123', 'abc123'], 'unchanged, on both tries');
    const unkeyed = await tries('internal POST /orders without a key', () => call(internalOrders, 'POST', '/orders', { json: {} }));
    t.equal(unkeyed.status, 201);
    t.match(unkeyed.tries[0]?.key, /^[0-9a-f]{32}$/, "a gateway reached directly: the internal server's own $request_id");
    t.equal(unkeyed.tries[1]?.key, unkeyed.tries[0]?.key);
    const internalAuth = nginx.internalUrl('auth');
    const login = await tries('internal POST /auth/login with the gateway-forwarded key', () =>
      fetch(`${internalAuth}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'login-key-1' }, body: '{}' }),
    );
    t.equal(login.status, 201);
    t.same(login.tries.map((entry) => entry.key), ['login-key-1', 'login-key-1'], 'resent with the same key');
    const register = await tries('internal POST /auth/register', () => call(internalAuth, 'POST', '/auth/register', { json: {} }));
    t.equal(register.status, 502);
    t.equal(register.tries.length, 1, 'sent once');
    const refresh = await tries('internal POST /auth/refresh', () => call(internalAuth, 'POST', '/auth/refresh'));
    t.equal(refresh.status, 201);
    t.equal(refresh.tries.length, 2);
  });
});
