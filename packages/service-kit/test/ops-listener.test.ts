import { test } from 'tap';
import { createServiceApp } from '../src/index.js';

async function probeApp() {
  const app = await createServiceApp({ service: 'probe', logLevel: 'silent' });
  app.get('/thing/:id', async () => ({ ok: true }));
  return app;
}

test('/metrics is served by the operations listener only: Prometheus text there, 404 JSON on the public port', async (t) => {
  const app = await probeApp();
  t.teardown(() => app.close());
  t.equal(app.metrics.url, undefined, 'building the app opens no listener');
  const publicUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const opsUrl = await app.metrics.listen({ host: '127.0.0.1', port: 0 });
  t.not(new URL(opsUrl).port, new URL(publicUrl).port);
  t.equal(app.metrics.url, opsUrl);
  await fetch(`${publicUrl}/thing/42`);

  const hidden = await fetch(`${publicUrl}/metrics`);
  t.equal(hidden.status, 404);
  t.same(await hidden.json(), { error: 'not_found', error_description: 'No route for GET /metrics.' });
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'nor through inject');
  const openapi = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>();
  t.ok(openapi.paths['/thing/{id}'], 'the OpenAPI document lists the public routes');
  t.notOk(Object.keys(openapi.paths).some((path) => path.includes('metrics')), 'and not /metrics');

  const scraped = await fetch(`${opsUrl}/metrics`);
  t.equal(scraped.status, 200);
  t.match(scraped.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await scraped.text();
  t.match(text, /http_request_duration_seconds_count\{service="probe",method="GET",route="\/thing\/:id",status_code="200"\} 1\n/);
  t.match(text, /process_resident_memory_bytes\{service="probe"\} \d+/, 'default process metrics');
  t.match(text, /route="unmatched",status_code="404"/, 'the refused public /metrics is counted like any unknown route');

  const head = await fetch(`${opsUrl}/metrics?name=x`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD and a query string are fine');
  t.equal(await head.text(), '');

  const post = await fetch(`${opsUrl}/metrics`, { method: 'POST', body: '{}' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.equal(((await post.json()) as { error: string }).error, 'method_not_allowed');

  for (const path of ['/healthz', '/thing/42', '/metrics/', '/']) {
    const other = await fetch(`${opsUrl}${path}`);
    t.equal(other.status, 404, `${path} is not on the operations listener`);
    t.equal(((await other.json()) as { error: string }).error, 'not_found');
  }
});

test('the operations listener binds the host it is given, not every address', async (t) => {
  const app = await probeApp();
  t.teardown(() => app.close());
  const opsUrl = await app.metrics.listen({ host: '127.0.0.2', port: 0 });
  const { port } = new URL(opsUrl);
  t.equal(new URL(opsUrl).hostname, '127.0.0.2');
  t.equal((await fetch(`${opsUrl}/metrics`)).status, 200);
  await t.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'another loopback address of the same machine is refused');
});

test('the operations listener closes with the app, even with a kept-alive scrape connection', async (t) => {
  const app = await probeApp();
  const opsUrl = await app.metrics.listen({ host: '127.0.0.1', port: 0 });
  const first = await fetch(`${opsUrl}/metrics`);
  t.equal(first.status, 200);
  await first.text();
  const started = Date.now();
  await app.close();
  t.ok(Date.now() - started < 2_000, `closed in ${Date.now() - started} ms`);
  t.equal(app.metrics.url, undefined);
  await t.rejects(fetch(`${opsUrl}/metrics`), 'nothing listens any more');
});

test('a second listen and a busy port are refused', async (t) => {
  const first = await probeApp();
  const second = await probeApp();
  t.teardown(async () => {
    await first.close();
    await second.close();
  });
  const opsUrl = await first.metrics.listen({ host: '127.0.0.1', port: 0 });
  await t.rejects(first.metrics.listen({ host: '127.0.0.1', port: 0 }), /already listening/);
  await t.rejects(second.metrics.listen({ host: '127.0.0.1', port: Number(new URL(opsUrl).port) }), { code: 'EADDRINUSE' });
  t.equal(second.metrics.url, undefined);
});
