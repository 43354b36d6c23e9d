// Cache-Control: no-store on every /auth/* and /admin/* answer, errors included (plugins/no-store.ts).
import { test } from 'tap';
import { PASSWORD, bearer, http, login, registerAndLogin, startAuth, type HttpResult } from '../helpers.js';

const ADMIN_EMAIL = 'cache-admin@example.com';

test('every /auth/* and /admin/* answer carries Cache-Control: no-store; other paths keep their own caching', async (t) => {
  const auth = await startAuth(t, { ADMIN_EMAIL, ADMIN_PASSWORD: PASSWORD });
  const { base } = auth;
  const user = await registerAndLogin(base);
  const admin = await login(base, ADMIN_EMAIL);

  const cases: [string, HttpResult, number][] = [
    ['POST /auth/login', await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } }), 200],
    ['GET /auth/me', await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) }), 200],
    ['GET /auth/sessions', await http(base, 'GET', '/auth/sessions', { headers: bearer(user.accessToken) }), 200],
    ['POST /auth/register', await http(base, 'POST', '/auth/register', { json: { email: 'cache-new@example.com', password: PASSWORD } }), 201],
    ['GET /admin/users', await http(base, 'GET', '/admin/users', { headers: bearer(admin.accessToken) }), 200],
    ['GET /auth/me without a token', await http(base, 'GET', '/auth/me'), 401],
    ['POST /auth/login wrong password', await http(base, 'POST', '/auth/login', { json: { email: user.email, password: 'wrong password' } }), 401],
    ['POST /auth/login schema violation', await http(base, 'POST', '/auth/login', { json: { email: user.email } }), 400],
    ['POST /auth/login malformed JSON', await http(base, 'POST', '/auth/login', { body: '{"email":', headers: { 'content-type': 'application/json' } }), 400],
    ['POST /auth/register wrong content type', await http(base, 'POST', '/auth/register', { body: 'x', headers: { 'content-type': 'text/plain' } }), 415],
    ['POST /auth/register taken email', await http(base, 'POST', '/auth/register', { json: { email: user.email, password: PASSWORD } }), 409],
    ['GET /auth/unknown', await http(base, 'GET', '/auth/unknown'), 404],
    ['GET /admin/users as a user', await http(base, 'GET', '/admin/users', { headers: bearer(user.accessToken) }), 403],
    ['GET /admin/users?x=1 without a token', await http(base, 'GET', '/admin/users?x=1'), 400],
    ['POST /auth/refresh without a cookie', await http(base, 'POST', '/auth/refresh'), 401],
  ];
  for (const [name, res, status] of cases) {
    t.equal(res.status, status, `${name}: ${status}`);
    t.equal(res.headers.get('cache-control'), 'no-store', `${name}: no-store`);
  }

  const jwks = await http(base, 'GET', '/.well-known/jwks.json');
  t.match(jwks.headers.get('cache-control'), /^public, max-age=\d+$/, 'the JWKS stays cacheable');
  t.equal((await http(base, 'GET', '/healthz')).headers.get('cache-control'), null, 'other paths are not touched');
  t.equal((await http(base, 'GET', '/authx')).headers.get('cache-control'), null, 'only the /auth and /admin path segments match');
});
