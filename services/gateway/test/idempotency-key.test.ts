/**
 * Idempotency-Key at the gateway: a well-formed key travels to the service byte for byte (orders
 * deduplicates by it, nginx resends a POST because of it), on every route; a malformed one is a
 * 400 in the contract's format before authentication or forwarding, whatever the route.
 */
import t0 from 'tap';
import { countRaw, send, startRig, type Echo } from './helpers.js';

const rig = await startRig();
t0.teardown(() => rig.close());
const test = t0.test.bind(t0);

const VALID = [
  '"8e03978e-40d5-43e8-bc93-6894a57f9324"', // the IETF draft's form: an sf-string
  '8e03978e-40d5-43e8-bc93-6894a57f9324', // Stripe-style bare token
  '0123456789abcdef0123456789abcdef', // nginx's $request_id
  '"with spaces and !#$%&\'()*+,-./:;<=>?@[]^_`{|}~ inside"',
  'x',
  'k'.repeat(255),
  `"${'q'.repeat(255)}"`,
];

const MALFORMED: Array<[string, string]> = [
  ['""', 'an empty quoted string'],
  ['"', 'a lone quote'],
  ['"unterminated', 'an unterminated quote'],
  ['"a\\"b"', 'an escape inside the quotes'],
  ['"a"b"', 'a quote inside the quotes'],
  ['a b', 'a space in a bare token'],
  ['a,b', 'a comma in a bare token'],
  ['back\\slash', 'a backslash'],
  ['k'.repeat(256), '256 characters'],
  [`"${'q'.repeat(256)}"`, '256 quoted characters'],
  ['caf\u00e9', 'a non-ASCII character'],
];

test('a well-formed key reaches the upstream unchanged, once, on token and public routes', async (t) => {
  const token = await rig.mint({ sub: 'u-1', scope: 'orders:write' });
  for (const key of VALID) {
    const res = await send(rig.url, {
      method: 'POST',
      path: '/orders',
      headers: ['Authorization', `Bearer ${token}`, 'Content-Type', 'application/json', 'Idempotency-Key', key],
      body: '{"item":"tea","quantity":1}',
    });
    t.equal(res.status, 200, `${key.slice(0, 40)}: forwarded (${res.text.slice(0, 120)})`);
    const echo = res.json<Echo>();
    t.equal(echo.headers['idempotency-key'], key, 'byte for byte');
    t.equal(countRaw(echo.rawHeaders, 'idempotency-key'), 1, 'exactly once');
  }
  const login = await send(rig.url, { method: 'POST', path: '/auth/login', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': '"login-1"' }, body: '{}' });
  t.equal(login.status, 200);
  t.equal(login.json<Echo>().headers['idempotency-key'], '"login-1"', 'public routes forward it too');
});

test('a malformed key is 400 invalid_request before authentication, and nothing is forwarded', async (t) => {
  const token = await rig.mint({ sub: 'u-2', scope: 'orders:write' });
  const before = rig.orders.seen.length;
  for (const [key, what] of MALFORMED) {
    const res = await send(rig.url, {
      method: 'POST',
      path: '/orders',
      headers: ['Authorization', `Bearer ${token}`, 'Content-Type', 'application/json', 'Idempotency-Key', key],
      body: '{"item":"tea","quantity":1}',
    });
    t.equal(res.status, 400, `${what}: 400`);
    const body = res.json<Record<string, unknown>>();
    t.same(Object.keys(body).sort(), ['error', 'error_description'], 'the contract format');
    t.equal(body.error, 'invalid_request');
    t.match(body.error_description, /^Idempotency-Key must be/);
  }
  const twice = await send(rig.url, {
    method: 'POST',
    path: '/orders',
    headers: ['Authorization', `Bearer ${token}`, 'Idempotency-Key', '"a"', 'Idempotency-Key', '"b"'],
    body: '{}',
  });
  t.equal(twice.status, 400, 'two Idempotency-Key fields (joined by a comma) are refused');
  const anonymous = await send(rig.url, { method: 'POST', path: '/orders', headers: { 'Idempotency-Key': 'a b' }, body: '{}' });
  t.equal(anonymous.status, 400, 'checked before the token: a malformed request is a 400 whoever sends it');
  t.equal(rig.orders.seen.length, before, 'no malformed key reached the upstream');
});
