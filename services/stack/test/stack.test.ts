// `pnpm start` runs the manifest's services in one process: each opens its own operations listener
// (GET /metrics) beside its public port, and a single METRICS_PORT, ambiguous there, is refused.
import { test } from 'tap';
import { ConfigError, servicesManifest } from '@keygate/config';
import { createTestEnvironment, freePort } from '@keygate/testing';
import { startStack } from '../src/stack.js';

const SERVICES = servicesManifest().map((service) => service.name);

test('every service of the stack serves its metrics on its own operations port only', async (t) => {
  const count = SERVICES.length;
  const ports = await Promise.all(Array.from({ length: 2 * count }, () => freePort()));
  const env: Record<string, string> = {};
  SERVICES.forEach((service, index) => {
    env[`${service.toUpperCase()}_PORT`] = String(ports[index]);
    env[`${service.toUpperCase()}_METRICS_PORT`] = String(ports[index + count]);
  });
  t.same([...SERVICES].sort(), ['auth', 'gateway', 'notifications', 'orders'], 'the stack runs every service of the manifest');
  const environment = await createTestEnvironment({ ...env, ISSUER: `http://127.0.0.1:${ports[SERVICES.indexOf('gateway')]}` });
  t.teardown(() => environment.cleanup());
  const stack = await startStack(environment.env);
  let closed = false;
  t.teardown(() => (closed ? undefined : stack.close()));

  for (const [index, service] of SERVICES.entries()) {
    t.equal(stack.urls[service], `http://127.0.0.1:${ports[index]}`, `${service}: at ${service.toUpperCase()}_PORT`);
    t.equal(stack.metricsUrls[service], `http://127.0.0.1:${ports[index + count]}`, `${service}: at ${service.toUpperCase()}_METRICS_PORT on METRICS_HOST`);
    const scraped = await fetch(`${stack.metricsUrls[service]}/metrics`);
    t.equal(scraped.status, 200);
    const text = await scraped.text();
    t.match(text, new RegExp(`process_cpu_seconds_total\\{service="${service}"\\}`), `${service}: its own registry`);
    t.notMatch(text, new RegExp(`service="(?!${service}")`), `${service}: no other service's metrics`);
    const hidden = await fetch(`${stack.urls[service]}/metrics`);
    t.equal(hidden.status, 404, `${service}: 404 on its public port`);
    t.equal(((await hidden.json()) as { error: string }).error, 'not_found');
  }
  t.match(await (await fetch(`${stack.metricsUrls.gateway}/metrics`)).text(), /gateway_revocation_live/, 'the gateway\'s own metrics');
  t.match(await (await fetch(`${stack.metricsUrls.auth}/metrics`)).text(), /auth_logins_total/, 'auth\'s own metrics');

  await stack.close();
  closed = true;
  await t.rejects(fetch(`${stack.metricsUrls.gateway}/metrics`), 'closing the stack closes the operations listeners');
});

test('one METRICS_PORT for every service is refused with one line naming the setting', async (t) => {
  const environment = await createTestEnvironment({ METRICS_PORT: '9999' });
  t.teardown(() => environment.cleanup());
  const error = await startStack(environment.env).then(
    () => undefined,
    (reason: unknown) => reason,
  );
  t.ok(error instanceof ConfigError);
  t.equal((error as ConfigError).setting, 'METRICS_PORT');
  t.match((error as Error).message, /^Invalid setting METRICS_PORT: is one service's port and pnpm start runs 4: /);
  for (const service of SERVICES) t.match((error as Error).message, `${service.toUpperCase()}_METRICS_PORT`, `names ${service}'s own setting`);
  t.notMatch((error as Error).message, /\n/);
});
