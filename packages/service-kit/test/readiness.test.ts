import { test } from 'tap';
import type { InjectOptions } from 'fastify';
import { createDatabase } from '@keygate/db';
import { inCi, postgresBinDir, startTemporaryPostgres } from '@keygate/testing';
import { createServiceApp } from '../src/index.js';

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

// Outside CI a machine without the PostgreSQL server binaries cannot run this; CI must.
const noServer = !postgresBinDir() && !inCi ? 'PostgreSQL server binaries not installed' : false;

test('/readyz turns 503 while PostgreSQL is stopped and 200 again when it is back, without a restart', { skip: noServer }, async (t) => {
  const postgres = await startTemporaryPostgres();
  if (!postgres) throw new Error('PostgreSQL server binaries are required in CI');
  t.teardown(() => postgres.destroy());
  const database = await createDatabase({ databaseUrl: postgres.url, onPoolError: () => {} });
  t.teardown(() => database.close());
  const app = await createServiceApp({ service: 'probe', logLevel: 'silent', readiness: { database: () => database.ping() } });
  t.teardown(() => app.close());

  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok' } });

  postgres.stop();
  const down = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(down.statusCode, 503);
  t.equal(down.headers['retry-after'], '5');
  t.same(down.json(), { status: 'unavailable', checks: { database: 'unavailable' } });
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive');

  postgres.start();
  t.ok(await waitFor(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 10_000), 'ready again');
});

test('errors, 404s and oversized or mistyped bodies use the contract format', async (t) => {
  const app = await createServiceApp({ service: 'probe', logLevel: 'silent' });
  t.teardown(() => app.close());
  app.post('/echo', { schema: { body: { type: 'object', additionalProperties: false, required: ['n'], properties: { n: { type: 'integer' } } } } }, async (request) => request.body);
  app.get('/boom', async () => {
    throw new Error('select * from secret_table failed');
  });
  const cases: Array<[InjectOptions, number, string]> = [
    [{ method: 'GET', url: '/missing' }, 404, 'not_found'],
    [{ method: 'GET', url: '/boom' }, 500, 'internal_error'],
    [{ method: 'POST', url: '/echo', payload: 'n=1', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
    [{ method: 'POST', url: '/echo', payload: { n: '1' } }, 400, 'invalid_request'],
    [{ method: 'POST', url: '/echo', payload: { n: 1, extra: true } }, 400, 'invalid_request'],
    [{ method: 'POST', url: '/echo', payload: '{"n":1,"__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } }, 400, 'invalid_request'],
    [{ method: 'POST', url: '/echo', payload: '{"n":', headers: { 'content-type': 'application/json' } }, 400, 'invalid_request'],
    [{ method: 'POST', url: '/echo', payload: JSON.stringify({ n: 1, pad: 'x'.repeat(20_000) }), headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large'],
  ];
  for (const [request, status, code] of cases) {
    const res = await app.inject(request);
    t.equal(res.statusCode, status, `${request.method} ${request.url} → ${status}`);
    t.equal(res.json().error, code);
    t.type(res.json().error_description, 'string');
    t.notMatch(res.body, /secret_table|stack|at \//, 'nothing internal leaks');
  }
  t.equal((await app.inject({ method: 'POST', url: '/echo', payload: { n: 1 } })).statusCode, 200);
  t.ok((await app.inject({ method: 'GET', url: '/healthz' })).headers['x-request-id'], 'every response names its request id');
});
