import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t0 from 'tap';
import { ConfigError, gatewayUpstreams } from '@keygate/config';
import { loadConfig } from '../src/config.js';
import { defaultRoutes, matchRoute } from '../src/route-table.js';

const base = { NODE_ENV: 'test', GATEWAY_SECRET: Buffer.alloc(32, 7).toString('base64'), DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-config-')) };

t0.test('defaults follow the contract', async (t) => {
  const config = loadConfig(base);
  t.equal(config.port, 8080);
  t.equal(config.jwksUrl, 'http://127.0.0.1:8081/.well-known/jwks.json');
  t.equal(config.revocationWhenRedisDown, 'serve');
  t.same(config.tokenAlgorithms, ['RS256']);
  const route = (path: string) => {
    const found = matchRoute(config.routes, path);
    return found && { prefix: found.prefix, origin: found.origin, token: found.requireToken, roles: found.roles && [...found.roles], auth: found.forwardAuthorization };
  };
  t.same(route('/auth/login'), { prefix: '/auth', origin: 'http://127.0.0.1:8081', token: false, roles: undefined, auth: true });
  t.same(route('/oauth/token'), { prefix: '/oauth', origin: 'http://127.0.0.1:8081', token: false, roles: undefined, auth: true });
  t.same(route('/.well-known/jwks.json'), { prefix: '/.well-known', origin: 'http://127.0.0.1:8081', token: false, roles: undefined, auth: false });
  t.same(route('/admin/users/1'), { prefix: '/admin', origin: 'http://127.0.0.1:8081', token: true, roles: ['admin'], auth: true });
  t.same(route('/orders'), { prefix: '/orders', origin: 'http://127.0.0.1:8082', token: true, roles: undefined, auth: false });
  t.same(route('/notifications/5/read'), { prefix: '/notifications', origin: 'http://127.0.0.1:8083', token: true, roles: undefined, auth: false });
  t.equal(route('/ordersX'), undefined);
  t.equal(route('/'), undefined);
});

t0.test('default scopes per method follow the contract, resolved for every method', async (t) => {
  const { routes } = loadConfig(base);
  const scopes = (path: string) => Object.fromEntries(matchRoute(routes, path)!.scopes ?? []);
  const write = (scope: string) => ({ DELETE: [scope], OPTIONS: [scope], PATCH: [scope], POST: [scope], PUT: [scope] });
  t.same(scopes('/orders/1'), { GET: ['orders:read'], HEAD: ['orders:read'], ...write('orders:write') });
  t.same(scopes('/notifications'), { GET: ['notifications:read'], HEAD: ['notifications:read'], ...write('notifications:write') });
  t.same(scopes('/admin/users'), { GET: ['admin'], HEAD: ['admin'], ...write('admin') });
  for (const path of ['/auth/login', '/oauth/token', '/.well-known/jwks.json']) t.equal(matchRoute(routes, path)!.scopes, undefined, `${path}: no token, no scopes`);
});

t0.test('the default routes and upstream settings are the services manifest\'s', async (t) => {
  const services = gatewayUpstreams();
  t.same(
    defaultRoutes().map((route) => [route.prefix, route.upstream]),
    services.flatMap((service) => service.routes.map((route) => [route.prefix, service.name])),
    'each manifest route leads to its service',
  );
  // Moving one service (its *_URL setting) moves exactly its routes.
  for (const service of services) {
    const { routes, upstreams } = loadConfig({ ...base, [service.upstreamSetting]: 'http://10.1.2.3:7000' });
    t.equal(upstreams[service.name], 'http://10.1.2.3:7000', `${service.upstreamSetting} is ${service.name}'s upstream`);
    for (const route of routes) {
      const expected = route.upstream === service.name ? 'http://10.1.2.3:7000' : `http://127.0.0.1:${services.find((other) => other.name === route.upstream)?.port}`;
      t.equal(route.origin, expected, `${route.prefix} → ${expected}`);
    }
  }
  t.throws(() => loadConfig({ ...base, GATEWAY_ROUTES: JSON.stringify([{ prefix: '/a', upstream: 'billing', auth: 'none' }]) }), /neither auth, orders, notifications nor a URL/, 'an unknown upstream names the manifest\'s');
});

t0.test('routes from GATEWAY_ROUTES or GATEWAY_ROUTES_FILE, longest prefix first', async (t) => {
  const routes = [
    { prefix: '/api', upstream: 'http://10.0.0.5:9000', auth: 'required' },
    { prefix: '/api/public/', upstream: 'orders', auth: 'none' },
  ];
  const fromEnv = loadConfig({ ...base, GATEWAY_ROUTES: JSON.stringify(routes) });
  t.equal(matchRoute(fromEnv.routes, '/api/public/x')?.origin, 'http://127.0.0.1:8082');
  t.equal(matchRoute(fromEnv.routes, '/api/private')?.origin, 'http://10.0.0.5:9000');
  t.equal(matchRoute(fromEnv.routes, '/orders'), undefined, 'a custom table replaces the defaults');
  const file = join(base.DATA_DIR, 'routes.json');
  writeFileSync(file, JSON.stringify([{ prefix: '/', upstream: 'orders', auth: 'required', roles: ['admin'] }]));
  const fromFile = loadConfig({ ...base, GATEWAY_ROUTES_FILE: file });
  t.same([...(matchRoute(fromFile.routes, '/anything')?.roles ?? [])], ['admin']);
});

/** Bad `scopes` entries on route 1 (/orders), and the one line each must produce. */
const scopeErrors: Array<[unknown, RegExp]> = [
  [{ GET: ['orders:reed'], '*': ['orders:write'] }, /route 1 \(\/orders\): scopes\.GET names "orders:reed", which is not one of account, admin, orders:read/],
  [{ get: ['orders:read'], '*': ['orders:write'] }, /route 1 \(\/orders\): scopes has an unknown method "get"/],
  [{ FETCH: ['orders:read'], '*': ['orders:write'] }, /unknown method "FETCH"/],
  [{ GET: 'orders:read', '*': ['orders:write'] }, /route 1 \(\/orders\): scopes\.GET must be a non-empty array/],
  [{ GET: [], '*': ['orders:write'] }, /scopes\.GET must be a non-empty array/],
  [{ GET: [7], '*': ['orders:write'] }, /scopes\.GET must be a non-empty array/],
  [{ GET: ['orders:read'] }, /route 1 \(\/orders\): scopes must have a "\*" entry/],
  [['orders:read'], /route 1 \(\/orders\): scopes must be an object/],
  ['orders:read', /scopes must be an object/],
];

t0.test('invalid settings stop start-up with a message naming the setting', async (t) => {
  const bad: Array<[Record<string, string>, string, RegExp]> = [
    [{ GATEWAY_ROUTES: 'not json' }, 'GATEWAY_ROUTES', /JSON/],
    [{ GATEWAY_ROUTES: '[]' }, 'GATEWAY_ROUTES', /non-empty/],
    [{ GATEWAY_ROUTES: JSON.stringify([{ prefix: 'orders', upstream: 'orders', auth: 'none' }]) }, 'GATEWAY_ROUTES', /prefix/],
    [{ GATEWAY_ROUTES: JSON.stringify([{ prefix: '/a/../b', upstream: 'orders', auth: 'none' }]) }, 'GATEWAY_ROUTES', /prefix/],
    [{ GATEWAY_ROUTES: JSON.stringify([{ prefix: '/a', upstream: 'billing', auth: 'none' }]) }, 'GATEWAY_ROUTES', /upstream/],
    [{ GATEWAY_ROUTES: JSON.stringify([{ prefix: '/a', upstream: 'orders', auth: 'maybe' }]) }, 'GATEWAY_ROUTES', /auth/],
    [{ GATEWAY_ROUTES: JSON.stringify([{ prefix: '/a', upstream: 'orders', auth: 'none', roles: ['admin'] }]) }, 'GATEWAY_ROUTES', /roles/],
    [{ GATEWAY_ROUTES: JSON.stringify([{ prefix: '/a', upstream: 'orders', auth: 'none', extra: 1 }]) }, 'GATEWAY_ROUTES', /unknown field/],
    [{ GATEWAY_ROUTES: JSON.stringify([{ prefix: '/a', upstream: 'http://x/path', auth: 'none' }]) }, 'GATEWAY_ROUTES', /origin/],
    ...scopeErrors.map(([scopes, message]): [Record<string, string>, string, RegExp] => [
      { GATEWAY_ROUTES: JSON.stringify([{ prefix: '/auth', upstream: 'auth', auth: 'none' }, { prefix: '/orders', upstream: 'orders', auth: 'required', scopes }]) },
      'GATEWAY_ROUTES',
      message,
    ]),
    [
      // JSON text, since an object literal's __proto__ sets the prototype instead of a key.
      { GATEWAY_ROUTES: '[{"prefix": "/orders", "upstream": "orders", "auth": "required", "scopes": {"__proto__": ["admin"], "*": ["orders:read"]}}]' },
      'GATEWAY_ROUTES',
      /route 0 \(\/orders\): scopes has an unknown method "__proto__"/,
    ],
    [
      { GATEWAY_ROUTES: JSON.stringify([{ prefix: '/orders', upstream: 'orders', auth: 'none', scopes: { '*': ['orders:read'] } }]) },
      'GATEWAY_ROUTES',
      /^Invalid setting GATEWAY_ROUTES: route 0 \(\/orders\): scopes need auth "required"$/,
    ],
    [{ GATEWAY_ROUTES_FILE: '/nonexistent/routes.json' }, 'GATEWAY_ROUTES_FILE', /ENOENT|no such file/],
    [{ REVOCATION_WHEN_REDIS_DOWN: 'maybe' }, 'REVOCATION_WHEN_REDIS_DOWN', /serve, refuse/],
    [{ RATE_LIMIT_USER: '0' }, 'RATE_LIMIT_USER', /between/],
    [{ TRUST_PROXY: 'everyone' }, 'TRUST_PROXY', /not an IP/],
    [{ TOKEN_ALGORITHMS: 'RS256,HS256' }, 'TOKEN_ALGORITHMS', /HS256/],
    [{ CLOCK_SKEW_SEC: '60' }, 'CLOCK_SKEW_SEC', /between 0 and 30/],
    [{ ORDERS_URL: 'ftp://x' }, 'ORDERS_URL', /http/],
  ];
  for (const [env, setting, message] of bad) {
    let caught: unknown;
    try {
      loadConfig({ ...base, ...env });
    } catch (error) {
      caught = error;
    }
    t.ok(caught instanceof ConfigError, `${setting}: a ConfigError`);
    t.equal((caught as ConfigError).setting, setting);
    t.match((caught as Error).message, message);
    t.notMatch((caught as Error).message, /\n/, `${setting}: one line`);
  }
  t.throws(() => loadConfig({ ...base, NODE_ENV: 'production' }), /DATABASE_URL|REDIS_URL|GATEWAY_SECRET/);
});
