/**
 * Test helpers every sample service's tests share (`@keygate/sample-service/test-helpers`): play
 * the gateway (sign proofs for a caller), call an app as that caller, read a metric, poll, share one
 * bus and PGlite between apps as the embedded stack does, and run the real process (dist/main.js).
 * A service's tests import these rather than another service's test folder. Tests only: nothing in
 * a service's src imports it, and its @keygate/testing import is a devDependency.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { PGlite } from '@electric-sql/pglite';
import { createBus, type Bus } from '@keygate/bus';
import type { CoreConfig } from '@keygate/config';
import { openEmbeddedPglite } from '@keygate/db';
import { IDENTITY_HEADERS, signGatewayProof } from '@keygate/gateway-trust';
import { createTestEnvironment, freePorts, scrapeMetrics } from '@keygate/testing';

type Teardown = { teardown(fn: () => unknown): void };

/** The assertions these helpers make, as tap's `t` has them. */
export interface Checks extends Teardown {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  ok(value: unknown, message: string): unknown;
  notOk(value: unknown, message: string): unknown;
}

export interface Caller {
  id: string;
  role: string;
  clientId: string;
  scope: string;
}

/** What a first-party sign-in grants (the orders and notifications scopes among others). */
const SIGNED_IN = 'account orders:read orders:write notifications:read notifications:write';

export const alice: Caller = { id: 'user-alice', role: 'user', clientId: 'keygate-web', scope: SIGNED_IN };
export const bob: Caller = { id: 'user-bob', role: 'user', clientId: 'keygate-web', scope: SIGNED_IN };
export const admin: Caller = { id: 'user-admin', role: 'admin', clientId: 'keygate-web', scope: `${SIGNED_IN} admin` };

/** The headers the gateway adds for this caller on exactly this method and URL. */
export function gatewayHeaders(secret: Buffer, caller: Caller, method: string, url: string, now: number = Date.now()): Record<string, string> {
  const requestId = randomUUID();
  const claims = { method, path: url, userId: caller.id, role: caller.role, clientId: caller.clientId, scope: caller.scope, requestId };
  return {
    [IDENTITY_HEADERS.userId]: caller.id,
    [IDENTITY_HEADERS.role]: caller.role,
    [IDENTITY_HEADERS.clientId]: caller.clientId,
    [IDENTITY_HEADERS.scope]: caller.scope,
    [IDENTITY_HEADERS.requestId]: requestId,
    [IDENTITY_HEADERS.proof]: signGatewayProof(secret, claims, now),
  };
}

/** app.inject as if through the gateway: a fresh proof for this caller, method and URL. */
export function asUser(app: FastifyInstance, secret: Buffer, caller: Caller) {
  return (method: 'GET' | 'POST', url: string, options: Omit<InjectOptions, 'method' | 'url'> = {}): Promise<LightMyRequestResponse> =>
    app.inject({ ...options, method, url, headers: { ...gatewayHeaders(secret, caller, method, url), ...(options.headers as Record<string, string> | undefined) } });
}

/** One sample from the app's Prometheus text, e.g. metric(app, 'orders_placed_total'). */
export async function metric(app: FastifyInstance, name: string, labels = ''): Promise<number | undefined> {
  const text = await scrapeMetrics(app);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until check returns a value other than undefined, or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * One bus, and without DATABASE_URL one PGlite, for several apps to share as in the embedded stack
 * (two instances of a service, or orders and notifications); closed when the test ends.
 */
export async function sharedStores(t: Teardown, config: Pick<CoreConfig, 'databaseUrl' | 'redisUrl' | 'redisPrefix'>): Promise<{ bus: Bus; pglite: PGlite | undefined }> {
  const bus = createBus({ redisUrl: config.redisUrl, keyPrefix: config.redisPrefix });
  t.teardown(() => bus.close());
  if (config.databaseUrl) return { bus, pglite: undefined };
  const pglite = await openEmbeddedPglite();
  t.teardown(() => pglite.close());
  return { bus, pglite };
}

export interface RunningService {
  url: string;
  /** Its operations listener (METRICS_PORT, a free port of 127.0.0.1). */
  metricsUrl: string;
  /** Sends SIGTERM; resolves with the exit code and everything the process logged. */
  terminate(): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * Starts a service's real entry point (dist/main.js) as a child process on free public and
 * operations ports and waits until /readyz answers 200; killed at the end of the test if still running.
 */
export async function startMain(t: Teardown, main: string, env: Record<string, string>, portVariable: string): Promise<RunningService> {
  const [port, metricsPort] = (await freePorts(2)) as [number, number];
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ...env, [portVariable]: String(port), METRICS_HOST: '127.0.0.1', METRICS_PORT: String(metricsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (!running) throw new Error(`${main} exited early: ${stderr}`);
    const ready = await fetch(`${url}/readyz`).then((res) => res.status === 200, () => false);
    return ready || undefined;
  }, 45_000, `${main} to be ready`);
  return {
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    async terminate() {
      child.kill('SIGTERM');
      return { code: await exited, stdout, stderr };
    },
  };
}

/**
 * A sample service's process (`main`: its dist/main.js) on a fresh test environment, as deployed:
 * its own database and bus, `<NAME>_PORT` and the operations listener on free ports, info logs.
 * With `secret`, the environment's GATEWAY_SECRET, to play the gateway.
 */
export async function startSampleMain(t: Teardown, name: string, main: URL, overrides: Record<string, string> = {}): Promise<RunningService & { secret: Buffer }> {
  const { env, cleanup } = await createTestEnvironment({ LOG_LEVEL: 'info', ...overrides });
  t.teardown(cleanup);
  const service = await startMain(t, fileURLToPath(main), env, `${name.toUpperCase().replace(/-/g, '_')}_PORT`);
  return { ...service, secret: Buffer.from(env.GATEWAY_SECRET!, 'base64') };
}

export interface LogLine {
  level: number;
  msg: string;
  service?: string;
  reqId?: string;
}

/**
 * SIGTERM, and what every sample service's process owes then: exit 0 (`exitWhy` says why the
 * test expects it in time), JSON logs that all name the service, none at error level. The log
 * lines, for the test's own checks.
 */
export async function expectCleanExit(t: Checks, service: RunningService, name: string, exitWhy: string): Promise<LogLine[]> {
  const { code, stdout } = await service.terminate();
  t.equal(code, 0, exitWhy);
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as LogLine);
  t.ok(lines.every((line) => line.service === name), 'JSON logs naming the service');
  t.notOk(lines.some((line) => line.level >= 50), 'and no error on the way down');
  return lines;
}
