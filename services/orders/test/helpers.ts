/**
 * Test helpers: orders' own (a config and an app on a fresh test environment); the gateway-playing,
 * polling and process helpers every sample service shares come from @keygate/sample-service.
 */
import type { FastifyInstance } from 'fastify';
import { createTestEnvironment } from '@keygate/testing';
import { build, type OrdersDeps } from '../src/app.js';
import { loadConfig, type OrdersConfig } from '../src/config.js';

export * from '@keygate/sample-service/test-helpers';

/** A fresh test environment and config; cleaned up when the test ends. */
export async function testConfig(t: { teardown(fn: () => unknown): void }): Promise<OrdersConfig> {
  const { env, cleanup } = await createTestEnvironment();
  t.teardown(cleanup);
  return loadConfig(env);
}

/** An orders app on a fresh test environment, closed (before the environment goes) when the test ends. */
export async function buildTestApp(t: { teardown(fn: () => unknown): void }, deps: OrdersDeps = {}): Promise<{ app: FastifyInstance; config: OrdersConfig }> {
  const config = await testConfig(t);
  const app = await build(config, deps);
  t.teardown(() => app.close());
  return { app, config };
}
