/**
 * Metrics as deployed: nginx (the public entry point, rendered from infra/nginx) answers /metrics
 * itself with the contract's 404, so no gateway ever sees the probe; no instance serves metrics on
 * its public port; every instance serves its own on its operations port (METRICS_PORT).
 */
import { test } from 'tap';
import { call, scaleSkipReason, startStack } from './harness/index.js';

const skip = scaleSkipReason();

test('/metrics: refused at the edge, absent from public ports, served on every operations port', { skip }, async (t) => {
  const stack = await startStack(t, { name: 'operations' });

  for (const path of ['/metrics', '/%6detrics', '/orders/../metrics', '/metrics?x=1']) {
    const edge = await call(stack.front, 'GET', path);
    t.equal(edge.status, 404, `nginx ${path}: 404`);
    t.same(edge.body, { error: 'not_found', error_description: 'No route for GET /metrics.' }, `nginx ${path}: the contract's body`);
    t.equal(edge.headers.get('x-request-id'), null, `nginx ${path}: answered by nginx itself (a gateway names its request id)`);
  }
  const control = await call(stack.front, 'GET', '/.well-known/jwks.json');
  t.equal(control.status, 200);
  t.ok(control.headers.get('x-request-id'), 'control: other paths do reach a gateway');

  for (const instance of stack.all) {
    const hidden = await call(instance.url, 'GET', '/metrics');
    t.equal(hidden.status, 404, `${instance.instanceName}: 404 on its public port`);
    const scraped = await call(instance.metricsUrl, 'GET', '/metrics');
    t.equal(scraped.status, 200, `${instance.instanceName}: 200 on its operations port`);
    t.match(String(scraped.body), new RegExp(`process_cpu_seconds_total\\{service="${instance.service}"\\}`), `${instance.instanceName}: its own metrics`);
  }
});
