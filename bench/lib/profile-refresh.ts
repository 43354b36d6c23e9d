/**
 * The auth service under refresh load only, under `node --cpu-prof`: where a refresh's CPU goes
 * (docs/benchmarks.md, "Refresh: where the CPU goes"). Starts auth on a fresh database (real
 * PostgreSQL with DATABASE_URL), 4 wrk loops of POST /auth/refresh for PROFILE_SECONDS (default 10)
 * after a 3 s warm-up, then stops it so it writes bench/profiles/refresh/*.cpuprofile, and prints
 * the auth process's CPU per refresh. Summarise with
 * `SKIP_SECONDS=4 node bench/dist/lib/profile-summary.js bench/profiles/refresh/<file>`.
 * Usage (repository root, after `pnpm exec tsc -b bench`): node bench/dist/lib/profile-refresh.js
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { createTestEnvironment, freePort, serviceNodeFlags } from '@keygate/testing';
import { freshRefreshTokens, wrkRefreshes } from './auth-wrk.js';
import { cpuMicros, startServer } from './proc.js';

const repo = join(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const profileDir = join(repo, 'bench', 'profiles', 'refresh');
mkdirSync(profileDir, { recursive: true });
const workDir = mkdtempSync(join(tmpdir(), 'keygate-profile-'));
const environment = await createTestEnvironment({ LOG_LEVEL: 'warn' });
const port = await freePort();
const auth = await startServer({
  name: 'auth',
  script: join(repo, 'services', 'auth', 'dist', 'main.js'),
  port,
  logDir: workDir,
  readyPath: '/readyz',
  nodeArgs: [...serviceNodeFlags(repo, 'auth'), '--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  timeoutMs: 60_000,
  env: { ...environment.env, HOST: '127.0.0.1', AUTH_PORT: String(port), RATE_LIMIT_LOGIN_PER_IP: '100000', RATE_LIMIT_LOGIN_PER_ACCOUNT: '100000' },
});
try {
  const users = Array.from({ length: 4 }, (_, i) => ({ email: `profile-${i}@example.com`, password: `profile password ${i}` }));
  for (const user of users) {
    const response = await fetch(`${auth.url}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
    if (response.status !== 201) throw new Error(`register answered ${response.status}`);
  }
  const options = (durationSec: number) => ({ authUrl: auth.url, concurrency: 4, durationSec, workDir });
  await wrkRefreshes(options(3), await freshRefreshTokens(auth.url, users));
  const tokens = await freshRefreshTokens(auth.url, users);
  const before = cpuMicros(auth.pid) ?? NaN;
  const result = await wrkRefreshes(options(seconds), tokens);
  const cpu = (cpuMicros(auth.pid) ?? NaN) - before;
  process.stdout.write(`${result.requests} refreshes in ${seconds} s (${result.rps.toFixed(0)}/s), auth CPU ${(cpu / result.requests).toFixed(0)} µs per refresh; profile in ${profileDir}\n`);
} finally {
  await auth.stop();
  await environment.cleanup();
}
