import { test } from 'tap';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';

const fixture = join(import.meta.dirname, 'fixtures', 'slow-server.ts');

function get(url: string, agentless = true): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: agentless ? false : undefined }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('SIGTERM lets an in-flight slow request finish, refuses new work, then exits 0', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', fixture], { env: { ...process.env, SLOW_MS: '1500' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

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
