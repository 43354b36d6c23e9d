import type * as Tap from 'tap';
import { test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';

const fixture = join(import.meta.dirname, 'fixtures', 'slow-server.ts');

function get(url: string, agentless = true): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: agentless ? false : undefined }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Starts the fixture server as its own process: its address and its exit code. */
async function startFixture(t: Tap.Test, env: Record<string, string>): Promise<{ address: string; metricsAddress: string; child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import=tsx', fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [address, metricsAddress] = await new Promise<[string, string]>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening (\S+) metrics (\S+)\n/.exec(out);
      if (match) resolve([match[1]!, match[2]!]);
    });
    child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { address, metricsAddress, child, exited };
}

test('SIGTERM lets an in-flight slow request finish, refuses new work, then exits 0', async (t) => {
  const { address, child, exited } = await startFixture(t, { SLOW_MS: '1500' });

  const inFlight = get(`${address}/slow`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));

  const late = await get(`${address}/healthz`).then(
    (res) => `status ${res.status}`,
    (error: NodeJS.ErrnoException) => error.code ?? 'error',
  );
  t.ok(late === 'ECONNREFUSED' || late === 'status 503' || late === 'ECONNRESET', `a new request after SIGTERM is refused (${late})`);

  const slow = await inFlight;
  t.equal(slow.status, 200, 'the in-flight request completed');
  t.same(JSON.parse(slow.body), { done: true });
  t.equal(await exited, 0, 'exit code 0 after draining');
  t.ok(Date.now() - signalledAt >= 900, 'the process waited for the request rather than dropping it');
});

test('with a drain delay, SIGTERM turns /readyz 503 at once and keeps serving new connections until the delay ends', async (t) => {
  const { address, child, exited } = await startFixture(t, { SLOW_MS: '100', DRAIN_DELAY_MS: '1500' });
  const before = await get(`${address}/readyz`, false);
  t.same([before.status, before.connection], [200, 'keep-alive'], 'ready before SIGTERM, keeping the connection alive');
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const readiness = await get(`${address}/readyz`);
  t.equal(readiness.status, 503, 'not ready right after SIGTERM');
  t.same(JSON.parse(readiness.body), { status: 'stopping', checks: {} });
  // The listener is still open, as a balancer that has not yet noticed the 503 needs it to be.
  // On the keep-alive agent, which asks to keep each connection.
  const during = await Promise.all([get(`${address}/slow`, false), get(`${address}/healthz`, false)]);
  t.same(
    during.map((reply) => reply.status),
    [200, 200],
    'requests (new and kept-alive connections) are served normally during the delay',
  );
  t.same(
    during.map((reply) => reply.connection),
    ['close', 'close'],
    'each with Connection: close, so keep-alive clients reconnect elsewhere',
  );
  await new Promise((resolve) => setTimeout(resolve, 1_600 - (Date.now() - signalledAt)));
  const late = await get(`${address}/healthz`).then(
    (res) => `status ${res.status}`,
    (error: NodeJS.ErrnoException) => error.code ?? 'error',
  );
  t.ok(late === 'ECONNREFUSED' || late === 'status 503' || late === 'ECONNRESET', `after the delay new connections are refused (${late})`);
  t.equal(await exited, 0, 'exit code 0');
  t.ok(Date.now() - signalledAt >= 1_500, 'the process stayed for the whole delay');
});

test('runService opens the operations listener beside the public one, and SIGTERM closes both', async (t) => {
  const { address, metricsAddress, child, exited } = await startFixture(t, { SLOW_MS: '100' });
  t.not(metricsAddress, address, 'two listeners');
  const scraped = await get(`${metricsAddress}/metrics`);
  t.equal(scraped.status, 200);
  t.match(scraped.body, /process_cpu_seconds_total\{service="slow"\}/, 'the service\'s registry');
  const hidden = await get(`${address}/metrics`);
  t.equal(hidden.status, 404, 'not on the public listener');
  t.equal(JSON.parse(hidden.body).error, 'not_found');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit 0');
  const after = await get(`${metricsAddress}/metrics`).then(
    (res) => `status ${res.status}`,
    (error: NodeJS.ErrnoException) => error.code ?? 'error',
  );
  t.equal(after, 'ECONNREFUSED', 'the operations listener is gone with the process');
});
