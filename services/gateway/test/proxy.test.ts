import t0 from 'tap';
import { verifyGatewayProof } from '@keygate/gateway-trust';
import { claimsOf, countRaw, send, startRig, type Echo } from './helpers.js';

const rig = await startRig();
const custom = await startRig({ GATEWAY_ROUTES: JSON.stringify([{ prefix: '/open', upstream: 'orders', auth: 'required' }]) });
t0.teardown(() => Promise.all([rig.close(), custom.close()]));
const test = t0.test.bind(t0);

test('a valid token reaches the upstream with exactly one X-User-ID, X-User-Role, X-Client-ID and X-User-Scope, whatever the client sent', async (t) => {
  const token = await rig.mint({ sub: 'u-42', role: 'user', client_id: 'third-party', scope: 'orders:read' });
  const res = await send(rig.url, {
    path: '/orders?limit=5&sort=desc',
    headers: [
      'Authorization', `Bearer ${token}`,
      'X-User-ID', 'admin',
      'x-user-id', 'root',
      'X-USER-ROLE', 'admin',
      'x_user_id', 'admin',
      'X_User_Role', 'admin',
      'x.user.id', 'admin',
      'X-User-Email', 'admin@example.com',
      'X-Client-ID', 'keygate-web',
      'x-client-id', 'keygate-web',
      'X_Client_Id', 'keygate-web',
      'x.client.id', 'keygate-web',
      'xclientid', 'keygate-web',
      'X-User-Scope', 'admin account orders:write',
      'x_user_scope', 'admin',
      'X.User.Scope', 'admin',
      'X-Gateway-Proof', 't=1;v1=forged',
      'x_gateway_proof', 'forged',
      'X-Request-ID', 'client-chosen-id',
      'X-Forwarded-For', '6.6.6.6',
      'X-Forwarded-Host', 'evil.test',
      'Forwarded', 'for=6.6.6.6',
      'X-Real-IP', '6.6.6.6',
      'Connection', 'keep-alive, X-Custom-Hop',
      'X-Custom-Hop', 'should not travel',
      'X-Kept', 'kept',
    ],
  });
  t.equal(res.status, 200, res.text);
  const echo = res.json<Echo>();
  // The upstream checked the proof (gatewayTrust) and derived request.user from it.
  t.same(echo.user, { id: 'u-42', role: 'user', clientId: 'third-party', scope: 'orders:read' });
  t.equal(echo.url, '/orders?limit=5&sort=desc');
  for (const name of ['x-user-id', 'x-user-role', 'x-client-id', 'x-user-scope']) t.equal(countRaw(echo.rawHeaders, name), 1, `one ${name}`);
  t.equal(echo.headers['x-user-id'], 'u-42');
  t.equal(echo.headers['x-user-role'], 'user');
  t.equal(echo.headers['x-client-id'], 'third-party');
  t.equal(echo.headers['x-user-scope'], 'orders:read');
  const names = ['x_user_id', 'x_user_role', 'x.user.id', 'x-user-email', 'x_client_id', 'x.client.id', 'xclientid', 'x_user_scope', 'x.user.scope'];
  for (const name of [...names, 'x_gateway_proof', 'forwarded', 'x-custom-hop', 'authorization']) {
    t.equal(echo.headers[name], undefined, `${name} is not forwarded`);
  }
  t.equal(countRaw(echo.rawHeaders, 'x-gateway-proof'), 1);
  t.not(echo.headers['x-request-id'], 'client-chosen-id');
  t.equal(echo.headers['x-request-id'], res.headers['x-request-id'], 'the upstream and the client see the same, gateway-made request id');
  t.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(echo.headers['x-real-ip'], '127.0.0.1');
  t.not(echo.headers['x-forwarded-host'], 'evil.test');
  t.equal(echo.headers['x-kept'], 'kept');
  // The proof binds the scope and client id the upstream heard: altered on the way, it fails.
  const proof = echo.headers['x-gateway-proof'] as string;
  const claims = {
    method: 'GET',
    path: echo.url,
    userId: 'u-42',
    role: 'user',
    clientId: 'third-party',
    scope: 'orders:read',
    requestId: echo.headers['x-request-id'] as string,
  };
  t.same(verifyGatewayProof(rig.secret, proof, claims), { ok: true, timestamp: Number(/^t=(\d+);/.exec(proof)![1]) });
  t.same(verifyGatewayProof(rig.secret, proof, { ...claims, scope: 'orders:read orders:write' }), { ok: false, reason: 'bad_signature' });
  t.same(verifyGatewayProof(rig.secret, proof, { ...claims, clientId: 'keygate-web' }), { ok: false, reason: 'bad_signature' });
});

test('a token without scope travels as an empty X-User-Scope, covered by the proof', async (t) => {
  // A route without scopes (a custom table) is the only place such a token gets through.
  const token = await custom.mint({ scope: undefined });
  const res = await send(custom.url, { path: '/open', headers: ['Authorization', `Bearer ${token}`, 'X-User-Scope', 'admin'] });
  t.equal(res.status, 200, res.text);
  const echo = res.json<Echo>();
  t.equal(echo.headers['x-user-scope'], '');
  t.equal(countRaw(echo.rawHeaders, 'x-user-scope'), 1);
  t.same(echo.user, { id: 'user-1', role: 'user', clientId: 'web', scope: '' }, 'the upstream verified the proof over the empty value');
});

test('duplicate identity headers in one spelling are dropped too', async (t) => {
  const token = await rig.mint({ sub: 'u-7', role: 'user' });
  const res = await send(rig.url, {
    path: '/notifications',
    headers: ['Authorization', `Bearer ${token}`, 'X-User-Role', 'admin', 'X-User-Role', 'admin', 'x-user-role', 'superuser'],
  });
  t.equal(res.status, 200, res.text);
  const echo = res.json<Echo>();
  t.equal(countRaw(echo.rawHeaders, 'x-user-role'), 1);
  t.equal(echo.headers['x-user-role'], 'user');
  t.match(echo.user, { id: 'u-7', role: 'user' });
});

test('public auth routes are forwarded without identity, with Authorization, and bodies stream through', async (t) => {
  const token = await rig.mint();
  const body = JSON.stringify({ email: 'a@example.com', password: 'correct horse battery staple' });
  const res = await send(rig.url, {
    method: 'POST',
    path: '/auth/login',
    headers: ['Content-Type', 'application/json', 'Authorization', `Bearer ${token}`, 'X-User-ID', 'admin', 'X-Gateway-Proof', 'forged', 'X-Client-ID', 'keygate-web', 'X-User-Scope', 'admin'],
    body,
  });
  t.equal(res.status, 200, res.text);
  const echo = res.json<Echo>();
  t.equal(echo.method, 'POST');
  t.equal(echo.url, '/auth/login');
  t.equal(echo.body, body);
  t.equal(echo.headers.authorization, `Bearer ${token}`, 'the auth service gets the bearer token for /auth/me and friends');
  t.equal(echo.headers['x-user-id'], undefined);
  t.equal(echo.headers['x-gateway-proof'], undefined);
  t.equal(echo.headers['x-client-id'], undefined, 'no identity on public routes, and no client-sent one either');
  t.equal(echo.headers['x-user-scope'], undefined);
  t.match(echo.headers['x-request-id'], /^[0-9a-f-]{36}$/);

  const form = await send(rig.url, { method: 'POST', path: '/oauth/token', headers: ['Content-Type', 'application/x-www-form-urlencoded'], body: 'grant_type=client_credentials' });
  t.equal(form.status, 200);
  t.equal(form.json<Echo>().body, 'grant_type=client_credentials');
  const bare = await send(rig.url, { method: 'POST', path: '/auth/logout', body: 'raw' });
  t.equal(bare.status, 200);
  t.equal(bare.json<Echo>().body, 'raw');

  const jwks = await send(rig.url, { path: '/.well-known/jwks.json' });
  t.equal(jwks.status, 200);
  t.equal(jwks.json<{ keys: unknown[] }>().keys.length, 1);
});

test('authenticated requests with a body reach the upstream with a proof covering method and path', async (t) => {
  const token = await rig.mint({ sub: 'u-9' });
  const body = JSON.stringify({ item: 'book', quantity: 2 });
  const res = await send(rig.url, { method: 'POST', path: '/orders', headers: ['Authorization', `Bearer ${token}`, 'Content-Type', 'application/json'], body });
  t.equal(res.status, 200, res.text);
  t.match(res.json<Echo>().user, { id: 'u-9', role: 'user' });
  t.equal(res.json<Echo>().body, body);
  t.equal(res.json<Echo>().headers.authorization, undefined, 'Authorization is not forwarded by default');
});

test('missing, non-bearer and duplicate credentials', async (t) => {
  const missing = await send(rig.url, { path: '/orders' });
  t.equal(missing.status, 401);
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="keygate"');
  t.same(missing.json(), { error: 'unauthorized', error_description: 'An access token is required.' });

  const basic = await send(rig.url, { path: '/orders', headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
  t.equal(basic.status, 401);
  t.equal(basic.headers['www-authenticate'], 'Bearer realm="keygate"');

  const token = await rig.mint();
  const twice = await send(rig.url, { path: '/orders', headers: ['Authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`] });
  t.equal(twice.status, 400);
  t.same(twice.json(), { error: 'invalid_request', error_description: 'Send exactly one Authorization header.' });

  const inQuery = await send(rig.url, { path: `/orders?access_token=${token}` });
  t.equal(inQuery.status, 400);
  t.equal(inQuery.json().error, 'invalid_request');
  const encodedName = await send(rig.url, { path: `/orders?access%5Ftoken=${token}`, headers: { Authorization: `Bearer ${token}` } });
  t.equal(encodedName.status, 400);
});

test('a role the route does not allow gets 403 insufficient_scope', async (t) => {
  const user = await rig.mint({ role: 'user' });
  const res = await send(rig.url, { path: '/admin/users', headers: { Authorization: `Bearer ${user}` } });
  t.equal(res.status, 403);
  t.match(res.headers['www-authenticate'], /^Bearer realm="keygate", error="insufficient_scope"/);
  t.same(res.json(), { error: 'insufficient_scope', error_description: 'Your role is not allowed on this route.' });
  t.equal(rig.auth.seen.filter((echo) => echo.url.startsWith('/admin')).length, 0);

  const admin = await rig.mint({ role: 'admin', sub: 'boss' });
  const ok = await send(rig.url, { path: '/admin/users', headers: { Authorization: `Bearer ${admin}` } });
  t.equal(ok.status, 200);
  t.equal(ok.json<Echo>().headers['x-user-role'], 'admin');
  t.equal(ok.json<Echo>().headers.authorization, `Bearer ${admin}`);
});

test('unknown routes get 404 in the contract format', async (t) => {
  // (`/` itself is left out: the gateway may serve its own page there.)
  for (const path of ['/nothing', '/ordersX', '/ORDERS', '/nothing/../nowhere']) {
    const res = await send(rig.url, { path });
    t.equal(res.status, 404, path);
    t.equal(res.json().error, 'not_found');
  }
});

const DOCUMENT_ONLY = ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection'];

test('security headers are on proxied and gateway-made responses', async (t) => {
  const token = await rig.mint();
  for (const res of [await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } }), await send(rig.url, { path: '/orders' })]) {
    t.equal(res.headers['x-content-type-options'], 'nosniff');
    t.equal(res.headers['referrer-policy'], 'no-referrer');
    t.equal(res.headers['x-frame-options'], 'DENY', "the same answer as the CSP's frame-ancestors 'none'");
    t.equal(res.headers['cross-origin-resource-policy'], 'same-origin');
    t.equal(res.headers['strict-transport-security'], undefined, 'no HSTS while ISSUER is http');
    t.match(res.headers['content-security-policy'], /default-src 'none'/);
    t.match(res.headers['content-type'], /^application\/json/);
    for (const name of DOCUMENT_ONLY) t.equal(res.headers[name], undefined, `${name} is not on a JSON answer (it acts on documents only)`);
  }
});

test('a document (any body but JSON) also gets the document-only headers; an upstream’s own value wins', async (t) => {
  const token = await rig.mint();
  const page = await send(rig.url, { path: '/orders/html-page', headers: { Authorization: `Bearer ${token}` } });
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.match(page.headers['content-security-policy'], /default-src 'none'/);
  t.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
  t.equal(page.headers['origin-agent-cluster'], '?1');
  t.equal(page.headers['x-dns-prefetch-control'], 'off');
  t.equal(page.headers['x-download-options'], 'noopen');
  t.equal(page.headers['x-permitted-cross-domain-policies'], 'none');
  t.equal(page.headers['x-xss-protection'], '0');

  const own = await send(rig.url, { path: '/orders/html-page/own-coop', headers: { Authorization: `Bearer ${token}` } });
  t.equal(own.headers['cross-origin-opener-policy'], 'same-origin-allow-popups', "the upstream's own opener policy is kept");
  t.equal(countRaw(own.rawHeaders, 'cross-origin-opener-policy'), 1, 'and sent once');
  t.equal(own.headers['x-dns-prefetch-control'], 'off');

  const demo = await send(rig.url, { path: '/' });
  t.match(demo.headers['content-type'], /^text\/html/, "the gateway's own demo page");
  t.match(demo.headers['content-security-policy'], /script-src 'self'/, 'keeps its own CSP');
  for (const name of DOCUMENT_ONLY) t.ok(demo.headers[name], `${name} is on the gateway's own page`);
});

test("the gateway's own error answers carry Cache-Control: no-store (the contract's rule for /auth and /admin)", async (t) => {
  const cases = [
    { what: '401 on /admin without a token', path: '/admin/users' },
    { what: '401 on /admin with a forged token', path: '/admin/users', headers: { Authorization: 'Bearer a.b.c' } },
    { what: '403 on /admin without the admin scope', path: '/admin/users', headers: { Authorization: `Bearer ${await rig.mint({ role: 'user' })}` } },
    { what: '400 for a token in the query on /auth', path: '/auth/me?access_token=x' },
    { what: '404 for no route', path: '/nothing' },
  ];
  for (const { what, path, headers } of cases) {
    const res = await send(rig.url, { path, ...(headers ? { headers } : {}) });
    t.ok(res.status >= 400, `${what}: ${res.status}`);
    t.equal(res.headers['cache-control'], 'no-store', what);
  }
  const ok = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${await rig.mint()}` } });
  t.equal(ok.status, 200);
  t.not(ok.headers['cache-control'], 'no-store', 'a successful upstream answer keeps its own caching headers');
});

test('the token fast path still sees expiry: the same token is refused once expired', async (t) => {
  // exp + 30 s skew lands 1-2 s from now (whole seconds): valid at first, expired 3 s later.
  const token = await rig.mint({ exp: Math.floor(Date.now() / 1000) - 28, iat: Math.floor(Date.now() / 1000) - 600 });
  const first = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
  t.equal(first.status, 200, 'within the 30 s skew');
  await new Promise((resolve) => setTimeout(resolve, 3_100));
  const second = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
  t.equal(second.status, 401);
  t.equal(second.json().error, 'invalid_token');
  t.ok(claimsOf(token).exp);
});

test("the upstream's connection-level headers do not reach the client", async (t) => {
  const res = await send(rig.url, { path: '/auth/hop-by-hop' });
  t.equal(res.status, 200);
  t.equal(res.headers['x-upstream-marker'], 'yes', 'ordinary upstream headers pass');
  t.not(res.headers['keep-alive'], 'timeout=999');
});
