/**
 * Authorization by scope (contract, "Authorization: clients, scopes, first-party"): every default
 * route and method refuses a token without the scope it needs with 403 insufficient_scope naming
 * that scope, lets the right scope through, and never lets a refused request reach the upstream.
 */
import t0 from 'tap';
import { send, startRig, type Echo, type Rig } from './helpers.js';

const rig = await startRig();
t0.teardown(() => rig.close());

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

interface Case {
  method: string;
  path: string;
  needed: string;
  /** Scopes that are close but not it (the other half of the pair, another resource). */
  wrong: string;
  role: string;
  upstream: () => Echo[];
}

const cases: Case[] = [];
for (const resource of ['orders', 'notifications'] as const) {
  for (const method of METHODS) {
    const read = method === 'GET' || method === 'HEAD';
    const other = resource === 'orders' ? 'notifications' : 'orders';
    cases.push({
      method,
      path: `/${resource}/item-1`,
      needed: `${resource}:${read ? 'read' : 'write'}`,
      wrong: `account admin ${resource}:${read ? 'write' : 'read'} ${other}:read ${other}:write`,
      role: 'user',
      upstream: () => rig[resource].seen,
    });
  }
}
for (const method of ['GET', 'PATCH']) {
  cases.push({
    method,
    path: '/admin/users/u-1',
    needed: 'admin',
    wrong: 'account orders:read orders:write notifications:read notifications:write',
    role: 'admin',
    upstream: () => rig.auth.seen,
  });
}

function call(target: Rig, method: string, path: string, token: string) {
  const body = method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : '{}';
  return send(target.url, {
    method,
    path,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body ? { body } : {}),
  });
}

t0.test('each default route and method: no scope and a wrong scope get 403 naming the scope needed; the right one passes', async (t) => {
  for (const { method, path, needed, wrong, role, upstream } of cases) {
    const what = `${method} ${path}`;
    const before = upstream().length;
    for (const [label, scope] of [
      ['no scope claim', undefined],
      ['a wrong scope', wrong],
    ] as const) {
      const res = await call(rig, method, path, await rig.mint({ role, scope }));
      t.equal(res.status, 403, `${what}, ${label}: 403`);
      t.equal(
        res.headers['www-authenticate'],
        `Bearer realm="keygate", error="insufficient_scope", error_description="The access token lacks a scope this request needs.", scope="${needed}"`,
        `${what}, ${label}: the challenge names ${needed}`,
      );
      if (method !== 'HEAD') {
        t.same(
          res.json(),
          { error: 'insufficient_scope', error_description: `The access token lacks the scope this request needs: ${needed}.` },
          `${what}, ${label}: body`,
        );
      }
    }
    t.equal(upstream().length, before, `${what}: no refused request reached the upstream`);
    const ok = await call(rig, method, path, await rig.mint({ role, scope: needed }));
    t.equal(ok.status, 200, `${what} with ${needed} alone passes`);
    t.equal(upstream().length, before + 1);
    t.equal(upstream().at(-1)!.headers['x-user-scope'], needed, `${what}: the upstream hears the scope`);
  }
});

t0.test('a client_credentials token with orders:write places orders but cannot read notifications', async (t) => {
  const token = await rig.mint({
    sub: 'billing-service',
    client_id: 'billing-service',
    role: 'service',
    sid: undefined,
    scope: 'orders:write',
  });
  const read = await call(rig, 'GET', '/notifications', token);
  t.equal(read.status, 403);
  t.match(read.headers['www-authenticate'], /error="insufficient_scope".*, scope="notifications:read"$/);
  t.equal((await call(rig, 'GET', '/orders', token)).status, 403, 'nor read orders');
  const write = await call(rig, 'POST', '/orders', token);
  t.equal(write.status, 200, write.text);
  t.same(write.json<Echo>().user, { id: 'billing-service', role: 'service', clientId: 'billing-service', scope: 'orders:write' });
});

t0.test('/admin needs the admin role and the admin scope', async (t) => {
  const thirdParty = await rig.mint({ role: 'admin', client_id: 'third-party', scope: 'orders:read' });
  const res = await call(rig, 'GET', '/admin/users', thirdParty);
  t.equal(res.status, 403, 'an admin signed in through a client granted orders:read only');
  t.match(res.headers['www-authenticate'], /, scope="admin"$/);
  const userWithScope = await rig.mint({ role: 'user', scope: 'admin' });
  const byRole = await call(rig, 'GET', '/admin/users', userWithScope);
  t.equal(byRole.status, 403, 'the scope does not make a user an admin');
  t.same(byRole.json(), { error: 'insufficient_scope', error_description: 'Your role is not allowed on this route.' });
  t.equal((await call(rig, 'GET', '/admin/users', await rig.mint({ role: 'admin', scope: 'admin' }))).status, 200);
});

t0.test('scope tokens are matched whole: no prefix, case or substring match', async (t) => {
  for (const scope of ['orders:readonly', 'ORDERS:READ', 'orders', 'orders:read:x', 'xorders:read', 'orders:write,orders:read']) {
    const res = await call(rig, 'GET', '/orders', await rig.mint({ scope }));
    t.equal(res.status, 403, JSON.stringify(scope));
  }
  t.equal((await call(rig, 'GET', '/orders', await rig.mint({ scope: 'openid orders:read email' }))).status, 200, 'among others');
});

t0.test('a scope or client_id that could not travel as a header is refused as an invalid token', async (t) => {
  const before = rig.orders.seen.length;
  const bad: Record<string, Record<string, unknown>> = {
    'a control character in scope': { scope: 'orders:read\u0001' },
    'a newline in scope': { scope: 'orders:read\norders:write' },
    'non-ASCII scope': { scope: 'orders:read ordérs:write' },
    'a double space in scope': { scope: 'orders:read  orders:write' },
    'a quote in scope': { scope: 'orders:read "x' },
    'a newline in client_id': { client_id: 'web\nx-user-role: admin' },
  };
  for (const [name, claims] of Object.entries(bad)) {
    const res = await call(rig, 'GET', '/orders', await rig.mint(claims));
    t.equal(res.status, 401, name);
    t.equal(res.json().error, 'invalid_token', name);
  }
  // A scope claim that is not a non-empty string is refused by the verifier (401) or read as no
  // scope (403), depending on its rules; either way it grants nothing.
  for (const scope of [['orders:read'], '', { 'orders:read': true }]) {
    const res = await call(rig, 'GET', '/orders', await rig.mint({ scope }));
    t.ok(res.status === 401 || res.status === 403, `${JSON.stringify(scope)}: refused (${res.status})`);
  }
  t.equal(rig.orders.seen.length, before, 'none reached the upstream');
});

t0.test('a custom route table: per-method entries, HEAD falling back to GET, "*" for the rest, routes without scopes', async (t) => {
  const custom = await startRig({
    GATEWAY_ROUTES: JSON.stringify([
      {
        prefix: '/orders',
        upstream: 'orders',
        auth: 'required',
        scopes: { GET: ['orders:read'], DELETE: ['orders:write', 'admin'], '*': ['orders:write'] },
      },
      { prefix: '/notifications', upstream: 'notifications', auth: 'required' },
    ]),
  });
  t.teardown(() => custom.close());
  const token = (scope?: string) => custom.mint({ scope });
  t.equal((await call(custom, 'HEAD', '/orders', await token('orders:read'))).status, 200, "HEAD uses GET's entry");
  t.equal((await call(custom, 'HEAD', '/orders', await token('orders:write'))).status, 403);
  t.equal((await call(custom, 'PATCH', '/orders/1', await token('orders:read'))).status, 403, 'PATCH falls to "*"');
  t.equal((await call(custom, 'PATCH', '/orders/1', await token('orders:write'))).status, 200);
  const seen = custom.orders.seen.length;
  t.equal((await call(custom, 'OPTIONS', '/orders', await token('orders:read'))).status, 204, 'OPTIONS is the gateway’s (CORS), whatever the token');
  t.equal(custom.orders.seen.length, seen, 'and never forwarded');
  const del = await call(custom, 'DELETE', '/orders/1', await token('orders:write'));
  t.equal(del.status, 403, 'every scope of an entry is needed');
  t.match(del.headers['www-authenticate'], /, scope="orders:write admin"$/);
  t.equal((await call(custom, 'DELETE', '/orders/1', await token('admin orders:write'))).status, 200);
  t.equal((await call(custom, 'POST', '/notifications', await token())).status, 200, 'a route without scopes needs a valid token only');
});
