import { createHmac, randomBytes } from 'node:crypto';
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

const SCOPE = 'orders:read notifications:read';

function signed(
  method: string,
  path: string,
  userId = 'u1',
  role = 'user',
  requestId = randomBytes(8).toString('hex'),
  now = Date.now(),
  clientId = 'web',
  scope = SCOPE,
): Record<string, string> {
  return {
    'x-user-id': userId,
    'x-user-role': role,
    'x-client-id': clientId,
    'x-user-scope': scope,
    'x-request-id': requestId,
    'x-gateway-proof': signGatewayProof(secret, { method, path, userId, role, clientId, scope, requestId }, now),
  };
}

test('a request signed by the gateway passes and exposes request.user with its client and scope', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/orders?limit=5', headers: signed('GET', '/orders?limit=5', 'u-42', 'admin') });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { user: { id: 'u-42', role: 'admin', clientId: 'web', scope: SCOPE } });
  // A token without scope or client id travels as empty values, still covered by the proof.
  const bare = await app.inject({ method: 'GET', url: '/orders', headers: signed('GET', '/orders', 'svc', 'service', 'r-bare', Date.now(), '', '') });
  t.equal(bare.statusCode, 200, bare.body);
  t.same(bare.json(), { user: { id: 'svc', role: 'service', clientId: '', scope: '' } });
});

test('X-User-Scope or X-Client-ID altered in transit, or left out, fails the proof', async (t) => {
  const app = await buildApp();
  t.teardown(() => app.close());
  const altered: Array<[string, Record<string, string>]> = [
    ['scope widened', { ...signed('GET', '/orders'), 'x-user-scope': `${SCOPE} orders:write` }],
    ['scope emptied', { ...signed('GET', '/orders'), 'x-user-scope': '' }],
    ['scope narrowed', { ...signed('GET', '/orders'), 'x-user-scope': 'orders:read' }],
    ['another client', { ...signed('GET', '/orders'), 'x-client-id': 'keygate-web' }],
  ];
  for (const [name, headers] of altered) {
    const res = await app.inject({ method: 'GET', url: '/orders', headers });
    t.equal(res.statusCode, 401, name);
    t.equal(res.json().error, 'unauthorized', name);
  }
  for (const name of ['x-user-scope', 'x-client-id']) {
    const headers = signed('GET', '/orders');
    delete headers[name];
    t.equal((await app.inject({ method: 'GET', url: '/orders', headers })).statusCode, 401, `${name} left out`);
  }
  const twice = signed('GET', '/orders');
  const res = await app.inject({ method: 'GET', url: '/orders', headers: { ...twice, 'x-user-scope': [SCOPE, 'admin'] as unknown as string } });
  t.equal(res.statusCode, 401, 'a second X-User-Scope');
  t.equal((await app.inject({ method: 'GET', url: '/orders', headers: signed('GET', '/orders') })).statusCode, 200, 'unaltered, it passes');
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
  headers['x-gateway-proof'] = signGatewayProof(other, { method: 'GET', path: '/orders', userId: 'u1', role: 'user', clientId: 'web', scope: SCOPE, requestId: headers['x-request-id']! });
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
  const claims = { method: 'GET', path: '/x', userId: 'u', role: 'user', clientId: 'c', scope: 'orders:read', requestId: 'r' };
  t.same(verifyGatewayProof(secret, undefined, claims), { ok: false, reason: 'missing' });
  t.same(verifyGatewayProof(secret, 't=1;v1=abc', claims), { ok: false, reason: 'malformed' });
  const v1 = signGatewayProof(secret, claims).replace(';v2=', ';v1=');
  t.same(verifyGatewayProof(secret, v1, claims), { ok: false, reason: 'malformed' }, 'a v1 proof (without client and scope) is named as such');
  t.same(verifyGatewayProof(secret, signGatewayProof(secret, claims), { ...claims, scope: 'orders:read orders:write' }), { ok: false, reason: 'bad_signature' });
  t.same(verifyGatewayProof(secret, signGatewayProof(secret, claims, 1000), claims, { now: 100_000 }), { ok: false, reason: 'expired' });
  t.equal(verifyGatewayProof(secret, signGatewayProof(secret, claims), claims).ok, true);
  t.throws(() => signGatewayProof(Buffer.alloc(8), claims), /at least 32 bytes/);
});

test('the proof MAC is HMAC-SHA256 over the documented fields', async (t) => {
  const claims = { method: 'get', path: '/orders?x=1', userId: 'u', role: 'user', clientId: 'web', scope: 'orders:read', requestId: 'r' };
  const input = ['keygate-proof-v2', '1000', 'GET', '/orders?x=1', 'u', 'user', 'web', 'orders:read', 'r'].join('\n');
  t.equal(signGatewayProof(secret, claims, 1000), `t=1000;v2=${createHmac('sha256', secret).update(input).digest('base64url')}`);
});
