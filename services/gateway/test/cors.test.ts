/**
 * CORS at the gateway, over real HTTP, on every endpoint the contract names: /.well-known/* for
 * any origin; /oauth/token, /oauth/revoke and /oauth/userinfo for ALLOWED_ORIGINS and the
 * public clients' redirect origins (read from the auth service); resource and other token routes
 * for ALLOWED_ORIGINS; credentials only on the refresh-cookie calls. Preflights are 204 before
 * authentication and routing and never reach an upstream; a refused origin gets no
 * Access-Control-Allow-Origin. The attacks: a foreign origin, `Origin: null`, a public client's
 * origin on a resource route or a cookie call, a look-alike origin.
 */
import t0 from 'tap';
import { send, startRig, type RawResponse } from './helpers.js';

const APP = 'https://app.example.com';
const SPA = 'https://spa.example.com';
const EVIL = 'https://evil.example';
const rig = await startRig({ ALLOWED_ORIGINS: `${APP}, https://admin.example.com`, CORS_ORIGINS_REFRESH_MS: '1000' });
rig.internalCorsOrigins = [SPA, 'http://127.0.0.1:8090'];
t0.teardown(() => rig.close());
const test = t0.test.bind(t0);

const preflight = (path: string, origin: string | undefined, method = 'POST', headers = 'authorization, content-type') =>
  send(rig.url, {
    method: 'OPTIONS',
    path,
    headers: { ...(origin === undefined ? {} : { Origin: origin }), 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
  });
const call = (path: string, origin: string, method = 'GET', headers: Record<string, string> = {}) => send(rig.url, { method, path, headers: { Origin: origin, ...headers } });
const acao = (res: RawResponse) => res.headers['access-control-allow-origin'];

// The public clients' list is read at start and then every second here.
await (async () => {
  const deadline = Date.now() + 5_000;
  while (!rig.gateway.corsOrigins.allows(SPA) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
})();

test('/.well-known/*: any origin, GET only, no credentials', async (t) => {
  for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const pre = await preflight(path, EVIL, 'GET', 'content-type');
    t.equal(pre.status, 204, `${path}: preflight`);
    t.equal(acao(pre), '*');
    t.match(String(pre.headers['access-control-allow-methods']), /GET/);
    t.notOk(pre.headers['access-control-allow-credentials'], 'never credentials with *');
    const res = await call(path, 'null');
    t.equal(acao(res), '*', `${path}: even Origin: null reads public metadata`);
  }
  t.equal(rig.auth.seen.filter((echo) => echo.method === 'OPTIONS').length, 0, 'no preflight reached the upstream');
});

test('/oauth/token, /oauth/revoke, /oauth/userinfo: ALLOWED_ORIGINS and public clients’ origins', async (t) => {
  for (const [path, method] of [['/oauth/token', 'POST'], ['/oauth/revoke', 'POST'], ['/oauth/userinfo', 'GET'], ['/oauth/userinfo', 'POST']] as const) {
    for (const origin of [SPA, APP, 'http://127.0.0.1:8090', 'http://127.0.0.1:28999']) {
      const pre = await preflight(path, origin, method);
      t.equal(pre.status, 204, `${method} ${path} from ${origin}: preflight 204`);
      t.equal(acao(pre), origin, 'the origin is granted');
      t.match(String(pre.headers['access-control-allow-methods']), new RegExp(method));
      t.match(String(pre.headers['access-control-allow-headers']), /Authorization/);
      t.equal(pre.headers['access-control-max-age'], '600');
      t.match(String(pre.headers.vary), /Origin/);
      t.notOk(pre.headers['access-control-allow-credentials'], 'tokens, not cookies: no credentials');
      const res = await call(path, origin, method, { 'content-type': 'application/x-www-form-urlencoded' });
      t.equal(acao(res), origin, `${method} ${path} from ${origin}: the answer is readable`);
      t.match(String(res.headers.vary), /Origin/);
    }
    for (const origin of [EVIL, 'null', `${SPA}.evil.example`, 'https://spa.example.com:444', 'http://spa.example.com', 'http://localhost:8090', 'http://[::1]:8090']) {
      const pre = await preflight(path, origin, method);
      t.equal(pre.status, 204, `${method} ${path} from ${origin}: preflight still 204`);
      t.notOk(acao(pre), `${origin}: no Access-Control-Allow-Origin on the preflight`);
      t.notOk(acao(await call(path, origin, method)), `${origin}: nor on the answer`);
    }
  }
});

test('resource routes and the other token routes: ALLOWED_ORIGINS only, errors readable', async (t) => {
  for (const [path, method] of [['/orders', 'GET'], ['/orders', 'POST'], ['/orders/1', 'DELETE'], ['/notifications', 'GET'], ['/auth/me', 'GET'], ['/auth/sessions', 'GET'], ['/admin/users', 'GET']] as const) {
    const pre = await preflight(path, APP, method);
    t.equal(pre.status, 204, `${method} ${path}: a preflight is 204 before the token check (not 401)`);
    t.equal(acao(pre), APP);
    t.match(String(pre.headers['access-control-allow-methods']), new RegExp(method));
    t.notOk(pre.headers['access-control-allow-credentials']);
    for (const refused of [SPA, EVIL, 'null', 'http://127.0.0.1:8090']) {
      const denied = await preflight(path, refused, method);
      t.equal(denied.status, 204);
      t.notOk(acao(denied), `${method} ${path}: ${refused} refused (public clients’ origins reach only the token endpoints)`);
    }
  }
  // A browser may send an Idempotency-Key (a safe retry of POST /orders) and read Idempotent-Replayed.
  const keyed = await preflight('/orders', APP, 'POST', 'authorization, content-type, idempotency-key');
  t.equal(acao(keyed), APP);
  t.match(String(keyed.headers['access-control-allow-headers']), /(^|, )Idempotency-Key(,|$)/, 'Idempotency-Key may be sent');
  const unauthenticated = await call('/orders', APP);
  t.equal(unauthenticated.status, 401);
  t.match(String(unauthenticated.headers['access-control-expose-headers']), /(^|, )Idempotent-Replayed(,|$)/, 'Idempotent-Replayed may be read');
  t.equal(acao(unauthenticated), APP, 'a 401 is readable by the allowed origin');
  t.match(String(unauthenticated.headers['access-control-expose-headers']), /WWW-Authenticate/);
  const token = await rig.mint({ scope: 'orders:read' });
  const ok = await call('/orders', APP, 'GET', { Authorization: `Bearer ${token}` });
  t.equal(ok.status, 200);
  t.equal(acao(ok), APP);
  t.match(String(ok.headers.vary), /Origin/);
  const foreign = await call('/orders', EVIL, 'GET', { Authorization: `Bearer ${token}` });
  t.notOk(acao(foreign), 'a foreign origin cannot read it');
  t.notOk(foreign.headers['access-control-expose-headers'], 'and is told nothing else either');
  t.match(String(foreign.headers.vary), /Origin/, 'the answer still varies by Origin');
  const sameOrigin = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
  t.notOk(sameOrigin.headers['access-control-allow-origin'] ?? sameOrigin.headers['access-control-expose-headers'], 'no CORS headers without Origin');
  t.equal(rig.orders.seen.filter((echo) => echo.method === 'OPTIONS').length, 0, 'OPTIONS is never forwarded');
});

test('the refresh-cookie calls: ALLOWED_ORIGINS with credentials, nobody else', async (t) => {
  for (const path of ['/auth/login', '/auth/refresh', '/auth/logout']) {
    const pre = await preflight(path, APP, 'POST', 'content-type');
    t.equal(pre.status, 204);
    t.equal(acao(pre), APP, `${path}: the operator's app`);
    t.equal(pre.headers['access-control-allow-credentials'], 'true', `${path}: with credentials`);
    for (const refused of [SPA, EVIL, 'null']) {
      const denied = await preflight(path, refused, 'POST', 'content-type');
      t.notOk(acao(denied), `${path}: ${refused} refused`);
      t.notOk(denied.headers['access-control-allow-credentials'], `${path}: ${refused} gets no credentials`);
    }
  }
  t.notOk((await preflight('/oauth/token', APP)).headers['access-control-allow-credentials'], 'not on the token endpoint');
});

test('an upstream’s own CORS headers never reach the browser; its Vary is kept beside Origin', async (t) => {
  const token = await rig.mint({ scope: 'orders:read' });
  const refused = await call('/orders/upstream-cors', EVIL, 'GET', { Authorization: `Bearer ${token}` });
  t.equal(refused.status, 200);
  t.notOk(acao(refused), 'the upstream’s `*` is dropped for a refused origin');
  t.notOk(refused.headers['access-control-allow-credentials']);
  t.match(String(refused.headers.vary), /Origin/);
  t.match(String(refused.headers.vary), /Accept-Encoding/);
  const allowed = await call('/orders/upstream-cors', APP, 'GET', { Authorization: `Bearer ${token}` });
  t.equal(acao(allowed), APP, 'the gateway’s own grant stands');
  t.notOk(allowed.headers['access-control-allow-credentials'], 'and the upstream cannot add credentials');
});

test('OPTIONS without Origin, on any path, is 204 without CORS grants', async (t) => {
  for (const path of ['/orders', '/oauth/token', '/nope', '/']) {
    const res = await preflight(path, undefined);
    t.equal(res.status, 204, path);
    t.notOk(acao(res), path);
  }
});

test('the public clients’ list follows the auth service; an auth outage keeps the last one', async (t) => {
  rig.internalCorsOrigins = ['https://new.example.com'];
  const deadline = Date.now() + 5_000;
  while (!rig.gateway.corsOrigins.allows('https://new.example.com') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(acao(await preflight('/oauth/token', 'https://new.example.com')), 'https://new.example.com', 'a newly registered client within one refresh');
  t.notOk(acao(await preflight('/oauth/token', SPA)), 'a removed one is refused');
  rig.internalCorsOrigins = null;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.equal(acao(await preflight('/oauth/token', 'https://new.example.com')), 'https://new.example.com', 'auth answering 503 keeps the last list');
  t.equal(acao(await preflight('/oauth/token', APP)), APP, 'and ALLOWED_ORIGINS');
});

test('the policy follows the normalised path; a request without Origin gets Vary: Origin and no CORS header', async (t) => {
  for (const path of ['/auth/%72efresh', '/auth/./refresh', '/auth//refresh', '/orders/../auth/refresh']) {
    const pre = await preflight(path, APP, 'POST', 'content-type');
    t.equal(pre.status, 204, `${path}: preflight`);
    t.equal(pre.headers['access-control-allow-credentials'], 'true', `${path} is the cookie call /auth/refresh`);
    t.equal(pre.headers['access-control-allow-methods'], 'POST');
  }
  const dotted = await preflight('/orders/%2e%2e/.well-known/jwks.json', EVIL, 'GET', 'content-type');
  t.equal(acao(dotted), '*', 'an encoded dot segment resolves to /.well-known/ (any origin)');
  t.equal(acao(await preflight('/.well-known/%2e%2e/orders', EVIL, 'GET')), undefined, 'and out of it again: /orders refuses that origin');
  for (const path of ['/.well-known/jwks.json', '/orders', '/auth/refresh']) {
    const res = await send(rig.url, { path });
    t.equal(res.headers.vary, 'Origin', `${path}: Vary: Origin without an Origin`);
    t.notOk(res.headers['access-control-allow-origin'] ?? res.headers['access-control-expose-headers'] ?? res.headers['access-control-allow-credentials'], `${path}: no CORS header`);
  }
});
