import t0 from 'tap';
import { send, startRig, type Echo } from './helpers.js';

const rig = await startRig();
t0.teardown(() => rig.close());

t0.test('path tricks cannot reach a route the token does not allow', async (t) => {
  const user = await rig.mint({ role: 'user' });
  const auth = { Authorization: `Bearer ${user}` };
  const adminBefore = rig.auth.seen.filter((echo) => echo.url.includes('admin')).length;
  const cases: Array<[string, number]> = [
    ['/orders/../admin/users', 403],
    ['/orders/%2e%2e/admin/users', 403],
    ['/orders/%2E%2E/admin/users', 403],
    ['/orders/.%2e/admin/users', 403],
    ['//admin/users', 403],
    ['///admin//users', 403],
    ['/./admin/users', 403],
    ['/%61dmin/users', 403],
    ['/orders%2F..%2Fadmin/users', 400],
    ['/orders/..%2fadmin/users', 400],
    ['/orders%2fadmin', 400],
    ['/orders/..%5cadmin', 400],
    ['/orders\\..\\admin\\users', 400],
    ['/orders/%00', 400],
    ['/orders/%zz', 400],
    ['/../admin/users', 400],
  ];
  for (const [path, status] of cases) {
    const res = await send(rig.url, { path, headers: auth });
    t.equal(res.status, status, path);
    t.type(res.json().error, 'string', `${path}: contract body`);
  }
  t.equal(rig.auth.seen.filter((echo) => echo.url.includes('admin')).length, adminBefore, 'nothing reached /admin at the auth service');
});

t0.test('a public prefix cannot be used to smuggle a request to a protected route', async (t) => {
  for (const path of ['/auth/../orders', '/auth/%2e%2e/orders', '/.well-known/../admin/users', '/oauth/./../notifications']) {
    const res = await send(rig.url, { path });
    t.equal(res.status, 401, path);
    t.equal(res.headers['www-authenticate'], 'Bearer realm="keygate"');
  }
});

t0.test('the upstream receives the normalised path, and the proof covers exactly that', async (t) => {
  const token = await rig.mint({ sub: 'u-1' });
  const res = await send(rig.url, { path: '/orders/./a//b/../c?x=%2e%2e&y=1', headers: { Authorization: `Bearer ${token}` } });
  t.equal(res.status, 200, res.text);
  const echo = res.json<Echo>();
  t.equal(echo.url, '/orders/a/c?x=%2e%2e&y=1');
  t.match(echo.user, { id: 'u-1', role: 'user' }, 'the upstream verified the proof for that path');

  const admin = await rig.mint({ role: 'admin' });
  const viaOrders = await send(rig.url, { path: '/orders/../admin/users', headers: { Authorization: `Bearer ${admin}` } });
  t.equal(viaOrders.status, 200);
  t.equal(viaOrders.json<Echo>().url, '/admin/users', 'an admin reaches /admin/users at auth, never orders');

  const oddQuery = await send(rig.url, { path: "/orders?q=a'b&x=%22y%22&z=%2F..%2F&&e=", headers: { Authorization: `Bearer ${token}` } });
  t.equal(oddQuery.status, 200, oddQuery.text);
  t.equal(oddQuery.json<Echo>().url, "/orders?q=a'b&x=%22y%22&z=%2F..%2F&&e=", 'the query travels byte for byte');
  t.match(oddQuery.json<Echo>().user, { id: 'u-1', role: 'user' }, 'and the proof covers it');

  const encoded = await send(rig.url, { path: '/%6Frders/x%20y', headers: { Authorization: `Bearer ${token}` } });
  t.equal(encoded.status, 200);
  t.equal(encoded.json<Echo>().url, '/orders/x%20y');
});

t0.test('normalisation is idempotent and never leaves a dot segment, an empty segment or an encoded slash (random paths)', async (t) => {
  const { normaliseTarget } = await import('../src/path.js');
  const pieces = ['a', 'orders', 'admin', '.', '..', '%2e', '%2E%2e', '', '%2f', '%5c', '%41', '%', '%zz', '~', ';', '..;', '%20', 'é', '%C3%A9', '\\', '%00', '@', ':'];
  let checked = 0;
  for (let i = 0; i < 5_000; i++) {
    const count = 1 + (i % 7);
    let raw = '';
    for (let j = 0; j < count; j++) raw += `/${pieces[(i * 31 + j * 17 + ((i >> 3) ^ j)) % pieces.length]}`;
    const first = normaliseTarget(raw);
    if (!first.ok) continue;
    checked += 1;
    const segments = first.path.split('/').slice(1);
    const bad = segments.slice(0, -1).some((segment) => segment === '' || segment === '.' || segment === '..') || /%2f|%5c|\\/i.test(first.path) || /(^|\/)\.\.?(\/|$)/.test(first.path);
    if (bad) t.fail(`${raw} → ${first.path}`);
    const second = normaliseTarget(first.path);
    if (!second.ok || second.path !== first.path) t.fail(`not idempotent: ${raw} → ${first.path} → ${second.ok ? second.path : second.reason}`);
  }
  t.ok(checked > 1_000, `${checked} normalisable paths checked`);
});
