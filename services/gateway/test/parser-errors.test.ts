// The public entry point answers even the requests Node's HTTP parser refuses in the contract's
// JSON format (service-kit's clientErrorHandler), within the gateway's own 128 KiB header cap.
import t0 from 'tap';
import { rawHttp } from '@keygate/testing';
import { startRig } from './helpers.js';

t0.test('malformed requests get the contract JSON error from the gateway, over a raw socket', async (t) => {
  const rig = await startRig();
  t.teardown(() => rig.close());
  const cases: Array<[string, string, number, string]> = [
    ['a header line without a colon', 'GET /orders HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n', 400, 'invalid_request'],
    ['a request line that is not HTTP', 'GET /orders SPDY/3\r\n\r\n', 400, 'invalid_request'],
    ['a space inside the header name', 'GET /orders HTTP/1.1\r\nHost: x\r\nX Bad: 1\r\n\r\n', 400, 'invalid_request'],
    ['headers over the gateway\'s 128 KiB cap', `GET /orders HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(140 * 1024)}\r\n\r\n`, 431, 'headers_too_large'],
  ];
  for (const [what, bytes, status, code] of cases) {
    const answer = await rawHttp(rig.url, bytes);
    t.equal(answer.status, status, `${what}: ${status}`);
    t.match(answer.headers['content-type'], /^application\/json/);
    t.same(Object.keys(JSON.parse(answer.body) as object).sort(), ['error', 'error_description'], `${what}: the contract's members only`);
    t.equal((JSON.parse(answer.body) as { error: string }).error, code);
  }
  t.same([...rig.auth.seen, ...rig.orders.seen, ...rig.notifications.seen].filter((echo) => echo.url.startsWith('/orders')), [], 'nothing reached an upstream');
  const fine = await rawHttp(rig.url, 'GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(fine.status, 200, 'a well-formed request still passes');
  t.ok((JSON.parse(fine.body) as { keys: unknown[] }).keys.length > 0);
});
