import { test } from 'tap';
import { rawHttp } from '@keygate/testing';
import { createServiceApp } from '../src/index.js';

const JSON_TYPE = /^application\/json/;

test('requests refused before any route answer in the contract format over a real socket', async (t) => {
  const app = await createServiceApp({ service: 'probe', logLevel: 'silent' });
  t.teardown(() => app.close());
  app.get('/thing/:id', async (request) => request.params);
  app.post('/echo', async (request) => request.body);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const cases: Array<[string, string | Buffer, number, string]> = [
    ['a header line without a colon', 'GET /thing/1 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 400, 'invalid_request'],
    ['a garbage request line', 'HELLO THERE\r\n\r\n', 400, 'invalid_request'],
    ['an unknown HTTP version', 'GET /thing/1 HTTP/7.3\r\nHost: x\r\n\r\n', 400, 'invalid_request'],
    ['a control character in a header value', 'GET /thing/1 HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n', 400, 'invalid_request'],
    ['both Content-Length and chunked', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'invalid_request'],
    ['headers over the 16 KiB limit', `GET /thing/1 HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ['a URL that does not decode', 'GET /thing/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'invalid_request'],
    ['a body that is not JSON', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"n":', 400, 'invalid_request'],
  ];
  for (const [what, bytes, status, code] of cases) {
    const answer = await rawHttp(base, bytes);
    t.equal(answer.status, status, `${what}: ${status}`);
    t.match(answer.headers['content-type'], JSON_TYPE, `${what}: JSON`);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    t.equal(body.error, code, `${what}: ${code}`);
    t.type(body.error_description, 'string');
    t.same(Object.keys(body).sort(), ['error', 'error_description'], `${what}: nothing but the contract's members`);
    t.notMatch(answer.body, /Bad Request|Client Error|FST_|statusCode|HPE_/, `${what}: no framework or parser text`);
  }

  const fine = await rawHttp(base, 'GET /thing/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(fine.status, 200, 'the server still serves well-formed requests afterwards');
  t.same(JSON.parse(fine.body), { id: '7' });
});

test('the operations listener refuses malformed requests in the same format', async (t) => {
  const app = await createServiceApp({ service: 'probe', logLevel: 'silent' });
  t.teardown(() => app.close());
  const opsUrl = await app.metrics.listen({ host: '127.0.0.1', port: 0 });
  const answer = await rawHttp(opsUrl, 'GET /metrics HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n');
  t.equal(answer.status, 400);
  t.same(JSON.parse(answer.body), { error: 'invalid_request', error_description: 'The HTTP request is malformed.' });
  t.equal(answer.headers.connection, 'close');
  const scrape = await rawHttp(opsUrl, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.equal(scrape.status, 200);
  t.match(scrape.body, /process_cpu_seconds_total/);
});
