import { randomBytes } from 'node:crypto';
import { test } from 'tap';
import Fastify from 'fastify';
import { errorsPlugin } from '@keygate/service-kit';
import { gatewayTrust, signGatewayProof, verifyGatewayProof } from '../src/index.js';

const secret = randomBytes(32);

async function buildApp() {
  const app = Fastify();
  await app.register(errorsPlugin);
  await app.register(gatewayTrust, { secret, windowMs: 30_000 });
  app.get('/orders', async (request) => ({ user: request.user }));
  app.get('/orders/:id', async (request) => ({ user: request.user }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}

function signed(method: string, path: string, userId = 'u1', role = 'user', requestId = randomBytes(8).toString('hex'), now = Date.now()) {
  return {
    'x-user-id': userId,
    'x-user-role': role,
    'x-request-id': requestId,
    'x-gateway-proof': signGatewayProof(secret, { method, path, userId, role, requestId }, now),
  };
}

test('a request signed by the gateway passes and exposes request.user', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/orders?limit=5', headers: signed('GET', '/orders?limit=5', 'u-42', 'admin') });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { user: { id: 'u-42', role: 'admin' } });
});

test('forged identity headers without a proof get 401 in the contract format', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/orders', headers: { 'x-user-id': 'admin', 'x-user-role': 'admin', 'x-request-id': 'r1' } });
  t.equal(res.statusCode, 401);
  t.equal(res.json().error, 'unauthorized');
  t.type(res.json().error_description, 'string');
});

test('a proof signed with another secret, or for another identity, is refused', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  const other = randomBytes(32);
  const headers = signed('GET', '/orders');
  headers['x-gateway-proof'] = signGatewayProof(other, { method: 'GET', path: '/orders', userId: 'u1', role: 'user', requestId: headers['x-request-id'] });
  t.equal((await app.inject({ method: 'GET', url: '/orders', headers })).statusCode, 401);
  const escalated = { ...signed('GET', '/orders'), 'x-user-role': 'admin' };
  t.equal((await app.inject({ method: 'GET', url: '/orders', headers: escalated })).statusCode, 401);
});

test('a captured proof replayed on another path, another method, twice, or after the window is refused', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  const captured = signed('GET', '/orders/1');
  t.equal((await app.inject({ method: 'GET', url: '/orders/2', headers: captured })).statusCode, 401, 'other path');
  t.equal((await app.inject({ method: 'POST', url: '/orders/1', headers: captured })).statusCode, 401, 'other method');
  t.equal((await app.inject({ method: 'GET', url: '/orders/1', headers: captured })).statusCode, 200, 'first use');
  t.equal((await app.inject({ method: 'GET', url: '/orders/1', headers: captured })).statusCode, 401, 'replayed as is');
  const old = signed('GET', '/orders/1', 'u1', 'user', 'r-old', Date.now() - 31_000);
  t.equal((await app.inject({ method: 'GET', url: '/orders/1', headers: old })).statusCode, 401, 'after the window');
});

test('duplicated identity headers are refused even with a valid proof', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  const headers = signed('GET', '/orders');
  const res = await app.inject({
    method: 'GET',
    url: '/orders',
    headers: { ...headers, 'x-user-id': ['u1', 'admin'] as unknown as string },
  });
  t.equal(res.statusCode, 401);
});

test('health stays reachable without a proof', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});

test('verifyGatewayProof names why a proof failed', async (t) => {
  const claims = { method: 'GET', path: '/x', userId: 'u', role: 'user', requestId: 'r' };
  t.same(verifyGatewayProof(secret, undefined, claims), { ok: false, reason: 'missing' });
  t.same(verifyGatewayProof(secret, 't=1;v1=abc', claims), { ok: false, reason: 'malformed' });
  t.same(verifyGatewayProof(secret, signGatewayProof(secret, claims, 1000), claims, { now: 100_000 }), { ok: false, reason: 'expired' });
  t.equal(verifyGatewayProof(secret, signGatewayProof(secret, claims), claims).ok, true);
  t.throws(() => signGatewayProof(Buffer.alloc(8), claims), /at least 32 bytes/);
});

test('the proof MAC is byte for byte HMAC-SHA256 (RFC 2104), for any key and message length', async (t) => {
  const { hmacSha256 } = await import('../src/proof.js');
  const { createHmac } = await import('node:crypto');
  // RFC 4231 test case 2 (a short key) and 6 (a key longer than the block, hashed first).
  t.equal(hmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?').toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  t.equal(
    hmacSha256(Buffer.alloc(131, 0xaa), 'Test Using Larger Than Block-Size Key - Hash Key First').toString('hex'),
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  );
  let mismatches = 0;
  for (let i = 0; i < 300; i += 1) {
    const key = randomBytes(1 + (i % 100));
    // Lengths past the scratch buffer's first size, and multi-byte UTF-8.
    const message = `${randomBytes(i * 3).toString('base64')}/é€${'𝄞'.repeat(i % 7)}`;
    const expected = createHmac('sha256', key).update(message).digest('hex');
    if (hmacSha256(key, message).toString('hex') !== expected) mismatches += 1;
    // The same key again (cached pads, reused scratch space) still agrees.
    if (hmacSha256(key, message).toString('hex') !== expected) mismatches += 1;
  }
  t.equal(mismatches, 0, '300 random keys and messages, each twice, agree with createHmac');
});
