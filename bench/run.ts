/**
 * `pnpm bench` (about 3-4 minutes) and `pnpm bench --quick` (under a minute): the gateway beside
 * its limits and beside the usual express stack, in one run, on this machine.
 *
 * Every server runs in its own Node process on 127.0.0.1, started from compiled JavaScript; the
 * HTTP load comes from wrk in its own process; the auth loops (which must carry a rotating cookie)
 * from bench/lib/auth-load in its own process. Each scenario gets a warm-up, then many short
 * rounds in which the scenarios a target compares run back to back (roundOrder), every run
 * starting on quiet CPUs (lib/quiet.ts); the median of the per-round figures is reported.
 * CPU per request is the server process's user+system time from /proc divided by the requests it
 * served; RSS is sampled from /proc during the runs.
 *
 * Targets (issue 19): every comparison is against a fixed reference — row 2r (bare fastify +
 * @fastify/reply-from), the express baseline, one core's RS256 signatures (node:crypto, measured in
 * the same run), raw argon2id verify CPU — printed as met or missed and written under `ratios`.
 *
 * Options: --quick, --runs N (N whole runs, one after another; latest.json and the docs get the
 * median of each ratio and its spread; the lead's quiet-machine check is `pnpm bench --runs 3`),
 * --render (docs/benchmarks.md from bench/results/latest.json, nothing measured), --out <file.json> (default bench/results/latest.json, or quick.json with
 * --quick), --docs / --no-docs (docs/benchmarks.md; written by a full run by default),
 * --profile (gateway and auth under `node --cpu-prof`, profiles in bench/profiles/ and bench/profiles/auth/), --keep-logs,
 * --only <key,key> (HTTP scenarios to run, for profiling one of them), --proxy-only (skip auth,
 * revocation), --auth-only (only the auth rows that targets compare: raw argon2id, logins, RS256
 * signing, refresh; no gateway, revocation or SIGNING_ALG context rows), --rounds N, --duration S.
 * A run with any of those is partial: it never writes the docs and writes
 * bench/results/partial.json unless --out says otherwise.
 * Environment, for profiling: BENCH_GATEWAY_NODE_ARGS / BENCH_AUTH_NODE_ARGS (space-separated Node
 * flags added to the gateway's / auth's, e.g. `--perf-basic-prof` for `perf record`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { verifyGatewayProof } from '@keygate/gateway-trust';
import { MIN_RSA_MODULUS_BITS } from '@keygate/tokens';
import { createTestEnvironment, freePort, serviceNodeFlags as nodeFlagsOf, type TestEnvironment } from '@keygate/testing';
import type { LoadResult, LoadSpec } from './lib/auth-load.js';
import { freshRefreshTokens, wrkLogins, wrkRefreshes } from './lib/auth-wrk.js';
import { cpuMicros, memory, startServer, tail, type ServerProcess } from './lib/proc.js';
import { backendCpuBetween, readBackendCpu } from './lib/pg-backends.js';
import { loginSessions, runRevocationTrials, type RevocationResult } from './lib/revocation.js';
import { waitForQuietCpu } from './lib/quiet.js';
import { median, round } from './lib/stats.js';
import { createBenchIssuer } from './lib/tokens.js';
import { runWrk, wrkAvailable, type WrkResult } from './lib/wrk.js';
import { aggregateReports, renderMarkdown, targetsOf, type BenchReport, type RateSummary, type ScenarioSummary, type RunFigures } from './lib/report.js';

const benchDist = dirname(fileURLToPath(import.meta.url));
const repo = join(benchDist, '..', '..');
const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string): string | undefined => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};

const quick = flag('--quick');
const settings = quick
  ? { warmupSec: 1, durationSec: 1, rounds: 1, connections: 50, tokenCount: 1_000, coldTokens: 0, revocationTrials: 20, authWarmupSec: 0.5, authFirstWarmupSec: 0.5, authSec: 1.5, authRounds: 1, authConcurrency: 4, signSec: 1, contextAlgRounds: 0 }
  : { warmupSec: 2, durationSec: 1, rounds: 12, connections: 50, tokenCount: 10_000, coldTokens: 6_000, revocationTrials: 200, authWarmupSec: 1, authFirstWarmupSec: 4, authSec: 3, authRounds: 4, authConcurrency: 4, signSec: 2, contextAlgRounds: 1 };
/** Refresh with these SIGNING_ALGs too, as context rows (what switching buys); not targets. */
const CONTEXT_ALGS = ['ES256', 'EdDSA'] as const;
const profile = flag('--profile');
const only = option('--only')?.split(',');
const proxyOnly = flag('--proxy-only');
const authOnly = flag('--auth-only');
if (proxyOnly && authOnly) throw new Error('--proxy-only and --auth-only exclude each other');
if (authOnly) settings.contextAlgRounds = 0;
const partial = only !== undefined || proxyOnly || authOnly || option('--rounds') !== undefined || option('--duration') !== undefined;
// Development overrides (a run with them is partial too).
if (option('--rounds')) settings.rounds = Number(option('--rounds'));
if (option('--duration')) settings.durationSec = Number(option('--duration'));
const outFile = option('--out') ?? join(repo, 'bench', 'results', partial ? 'partial.json' : quick ? 'quick.json' : 'latest.json');
const writeDocs = !partial && (flag('--docs') || (!quick && !flag('--no-docs') && option('--out') === undefined));
const issuerUrl = 'http://localhost:8080';
const audience = 'api';
const realRedisUrl = process.env.REDIS_URL || undefined;
const realDatabaseUrl = process.env.DATABASE_URL || undefined;
const notes: string[] = [];
/** Measured runs that started before the CPUs went quiet (lib/quiet.ts gave up waiting). */
const noisyStarts: string[] = [];

const log = (message: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

const script = (...parts: string[]): string => join(repo, ...parts);
const secretBase64 = (): string => randomBytes(32).toString('base64');

/** The Node flags of the service's start script (@keygate/testing), as production starts it. */
function serviceNodeFlags(service: string): string[] {
  return nodeFlagsOf(repo, service);
}

function requireBuilt(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`${what} is not built (${relative(repo, path)} missing): run \`pnpm exec tsc -b\` first`);
}

/** Samples the RSS of the watched processes while a run goes on; returns the peak per pid. */
function watchMemory(pids: number[]): () => Map<number, number> {
  const peak = new Map<number, number>();
  const sample = (): void => {
    for (const pid of pids) {
      const mem = memory(pid);
      if (mem) peak.set(pid, Math.max(peak.get(pid) ?? 0, mem.rssMb));
    }
  };
  sample();
  const timer = setInterval(sample, 250);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}

interface HttpScenario {
  key: string;
  label: string;
  url: string;
  /** The process whose CPU and RSS are reported (the server under test). */
  server: ServerProcess;
  headers?: Record<string, string>;
  tokenFile?: string;
  /** Where the next run starts in the token file; advanced by each run's request count. */
  tokenCursor?: { next: number; count: number };
}

async function measureHttp(scenario: HttpScenario, durationSec: number, workDir: string, upstream: ServerProcess): Promise<RunFigures> {
  await waitForQuiet(scenario.key);
  const pids = [scenario.server.pid, upstream.pid];
  const cpuBefore = cpuMicros(scenario.server.pid) ?? NaN;
  const upstreamBefore = cpuMicros(upstream.pid) ?? NaN;
  const stopWatching = watchMemory(pids);
  let result: WrkResult;
  let peaks: Map<number, number>;
  try {
    result = await runWrk({
      url: scenario.url,
      durationSec,
      connections: settings.connections,
      workDir,
      ...(scenario.headers ? { headers: scenario.headers } : {}),
      ...(scenario.tokenFile ? { tokenFile: scenario.tokenFile, tokenStart: scenario.tokenCursor?.next ?? 0 } : {}),
    });
  } finally {
    peaks = stopWatching();
  }
  if (scenario.tokenCursor) scenario.tokenCursor.next = (scenario.tokenCursor.next + result.requests) % scenario.tokenCursor.count;
  const cpu = (cpuMicros(scenario.server.pid) ?? NaN) - cpuBefore;
  const upstreamCpu = (cpuMicros(upstream.pid) ?? NaN) - upstreamBefore;
  return {
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    requests: result.requests,
    cpuUsPerRequest: cpu / result.requests,
    upstreamCpuUsPerRequest: scenario.server === upstream ? null : upstreamCpu / result.requests,
    rssMb: peaks.get(scenario.server.pid) ?? NaN,
  };
}

function summarize(key: string, label: string, runs: RunFigures[], extra: Partial<ScenarioSummary> = {}): ScenarioSummary {
  return {
    key,
    label,
    rps: round(median(runs.map((r) => r.rps)), 1),
    p50Ms: round(median(runs.map((r) => r.p50Ms))),
    p99Ms: round(median(runs.map((r) => r.p99Ms))),
    cpuUsPerRequest: round(median(runs.map((r) => r.cpuUsPerRequest)), 1),
    upstreamCpuUsPerRequest: runs[0]?.upstreamCpuUsPerRequest === null ? null : round(median(runs.map((r) => r.upstreamCpuUsPerRequest ?? NaN)), 1),
    rssMb: round(Math.max(...runs.map((r) => r.rssMb)), 1),
    runs: runs.map((r) => ({ ...r, rps: round(r.rps, 1), p50Ms: round(r.p50Ms), p99Ms: round(r.p99Ms), cpuUsPerRequest: round(r.cpuUsPerRequest, 1), rssMb: round(r.rssMb, 1) })),
    ...extra,
  };
}

/** One request, checked end to end: the status, and what the upstream saw. */
async function probe(url: string, headers: Record<string, string>, expectStatus: number, secret: Buffer | null, expectUser: string | null): Promise<string> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  if (response.status !== expectStatus) throw new Error(`probe ${url}: expected ${expectStatus}, got ${response.status}: ${text.slice(0, 200)}`);
  if (expectStatus !== 200 || secret === null) return `${response.status}`;
  const seen = JSON.parse(text) as {
    method: string;
    url: string;
    userId: string | null;
    role: string | null;
    clientId: string | null;
    scope: string | null;
    requestId: string | null;
    proof: string | null;
    authorization: boolean;
  };
  if (seen.userId !== expectUser) throw new Error(`probe ${url}: upstream saw user ${seen.userId}, expected ${expectUser}`);
  if (seen.authorization) throw new Error(`probe ${url}: Authorization reached the upstream`);
  if (expectUser !== null) {
    const check = verifyGatewayProof(secret, seen.proof ?? undefined, {
      method: seen.method,
      path: seen.url,
      userId: seen.userId!,
      role: seen.role!,
      clientId: seen.clientId!,
      scope: seen.scope!,
      requestId: seen.requestId!,
    });
    if (!check.ok) throw new Error(`probe ${url}: the upstream got no valid gateway proof (${check.reason})`);
  }
  return `${response.status}`;
}

/** What the gateway says of its own memory after the load (/metrics on its operations listener at `url`), to explain its RSS. */
async function gatewayMetrics(url: string): Promise<Record<string, number>> {
  const wanted: Record<string, string> = {
    process_resident_memory_bytes: 'rssMb',
    nodejs_heap_size_used_bytes: 'heapUsedMb',
    nodejs_heap_size_total_bytes: 'heapTotalMb',
    nodejs_external_memory_bytes: 'externalMb',
    gateway_verified_tokens_cached: 'verifiedTokensCached',
  };
  const out: Record<string, number> = {};
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
      const key = match ? wanted[match[1]!] : undefined;
      if (!key) continue;
      const value = Number(match![2]);
      out[key] = key.endsWith('Mb') ? round(value / 2 ** 20, 1) : value;
    }
  } catch {
    // metrics are an explanation, not a result
  }
  return out;
}

function subjectOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string }).sub;
}

/** Every measured run starts on quiet CPUs (lib/quiet.ts); the ones that could not are listed in the notes. */
async function waitForQuiet(label: string): Promise<void> {
  const quiet = await waitForQuietCpu();
  if (!quiet.quiet) noisyStarts.push(`${label} (${Math.round((quiet.idle ?? 0) * 100)} % idle)`);
}

/**
 * Runs a fixed reference (raw argon2 verify, RS256 signing) in its own driver process. The work happens inside the driver,
 * so the driver's own CPU is what the row costs.
 */
async function runLoadProcess(spec: LoadSpec): Promise<LoadResult & { serverCpuUsPerOp: number | null }> {
  await waitForQuiet(spec.mode === 'argon2' ? 'raw argon2' : 'RS256 signing');
  const child = spawn(process.execPath, [join(benchDist, 'lib', 'auth-load.js'), JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const pid = child.pid!;
  // Sampled while it runs: /proc forgets the process once it has exited.
  let lastCpu = cpuMicros(pid) ?? NaN;
  const sampler = setInterval(() => (lastCpu = cpuMicros(pid) ?? lastCpu), 100);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  const line = /LOAD_JSON (\{.*\})/.exec(out)?.[1];
  if (code !== 0 || !line) throw new Error(`auth-load ${spec.mode} failed (${code}): ${out.slice(-2000)}`);
  const result = JSON.parse(line) as LoadResult;
  // Both modes report their own CPU over the measured window (auth-load.ts). Only if one did not:
  // CPU over the whole process life (warm-up included) scaled by the measured share of the wall
  // time, an estimate that also charges start-up and the operations still running at the end.
  const share = spec.durationSec / (spec.durationSec + spec.warmupSec);
  const cpu = lastCpu * share;
  if (result.cpuUsPerOp !== undefined) return { ...result, serverCpuUsPerOp: round(result.cpuUsPerOp, 1) };
  return { ...result, serverCpuUsPerOp: Number.isFinite(cpu) && result.operations > 0 ? round(cpu / result.operations, 1) : null };
}

interface Cleanup {
  servers: ServerProcess[];
  environments: TestEnvironment[];
}

async function proxyScenarios(workDir: string, logDir: string, cleanup: Cleanup) {
  log('signing tokens');
  const issuer = await createBenchIssuer(workDir, issuerUrl, audience);
  const [oneToken] = await issuer.sign(1, 3600);
  const manyTokens = await issuer.sign(settings.tokenCount, 3600);
  const tokenFile = join(workDir, 'tokens.txt');
  writeFileSync(tokenFile, `${manyTokens.join('\n')}\n`);
  const coldFile = join(workDir, 'cold-tokens.txt');
  if (settings.coldTokens > 0) writeFileSync(coldFile, `${(await issuer.sign(settings.coldTokens, 3600)).join('\n')}\n`);

  const gatewaySecret = secretBase64();
  const secret = Buffer.from(gatewaySecret, 'base64');
  const echoPort = await freePort();
  const echo = await startServer({ name: 'echo', script: join(benchDist, 'upstream', 'echo.js'), port: echoPort, logDir, env: { ECHO_PORT: String(echoPort), ECHO_JWKS_FILE: issuer.jwksFile } });
  cleanup.servers.push(echo);

  const gatewayPort = await freePort();
  // Its operations listener (GET /metrics), read after the load to explain its memory.
  const gatewayMetricsPort = await freePort();
  const routes = [
    { prefix: '/auth', upstream: 'auth', auth: 'none', forwardAuthorization: true },
    { prefix: '/.well-known', upstream: 'auth', auth: 'none' },
    { prefix: '/public', upstream: 'orders', auth: 'none' },
    // The contract's default scopes for /orders, so the timed requests pay for the scope check too.
    { prefix: '/orders', upstream: 'orders', auth: 'required', scopes: { GET: ['orders:read'], '*': ['orders:write'] } },
  ];
  const gatewayEnv: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    GATEWAY_PORT: String(gatewayPort),
    METRICS_PORT: String(gatewayMetricsPort),
    DATA_DIR: join(workDir, 'gateway'),
    AUTH_URL: echo.url,
    ORDERS_URL: echo.url,
    NOTIFICATIONS_URL: echo.url,
    GATEWAY_SECRET: gatewaySecret,
    ISSUER: issuerUrl,
    AUDIENCE: audience,
    GATEWAY_ROUTES: JSON.stringify(routes),
    // The limiter still runs on every request; the limits are raised so a benchmark is not throttled.
    RATE_LIMIT_PUBLIC_PER_IP: '1000000000',
    RATE_LIMIT_USER: '1000000000',
    REDIS_PREFIX: `kgbench_${process.pid}_${randomBytes(3).toString('hex')}:`,
    ...(realRedisUrl ? { REDIS_URL: realRedisUrl } : {}),
  };
  const gatewayScript = script('services', 'gateway', 'dist', 'main.js');
  requireBuilt(gatewayScript, 'The gateway');
  const profileDir = join(repo, 'bench', 'profiles');
  const gatewayFlags = serviceNodeFlags('gateway');
  if (gatewayFlags.length > 0) notes.push(`The gateway ran with the Node flags of its start script: ${gatewayFlags.join(' ')}.`);
  if (profile) mkdirSync(profileDir, { recursive: true });
  const gateway = await startServer({
    name: 'gateway',
    script: gatewayScript,
    port: gatewayPort,
    logDir,
    readyPath: '/readyz',
    env: gatewayEnv,
    nodeArgs: [...gatewayFlags, ...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ') ?? []), ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
  });
  cleanup.servers.push(gateway);

  const baselineEnv = (keepAlive: boolean, port: number): Record<string, string> => ({
    NODE_ENV: 'production',
    BASELINE_PORT: String(port),
    UPSTREAM_URL: echo.url,
    JWT_PUBLIC_KEY_FILE: issuer.publicKeyPemFile,
    ISSUER: issuerUrl,
    AUDIENCE: audience,
    GATEWAY_SECRET: gatewaySecret,
    BASELINE_KEEPALIVE: keepAlive ? '1' : '0',
  });
  const baselineScript = join(benchDist, 'baselines', 'express-gateway.js');
  const baselinePort = await freePort();
  const baseline = await startServer({ name: 'baseline', script: baselineScript, port: baselinePort, logDir, env: baselineEnv(false, baselinePort) });
  cleanup.servers.push(baseline);
  let baselineKeepAlive: ServerProcess | undefined;
  if (!quick) {
    const port = await freePort();
    baselineKeepAlive = await startServer({ name: 'baseline-keepalive', script: baselineScript, port, logDir, env: baselineEnv(true, port) });
    cleanup.servers.push(baselineKeepAlive);
  }
  // Row 2r, the fixed reference of the gateway targets: the framework with a proxy and nothing else.
  const referencePort = await freePort();
  const reference = await startServer({
    name: 'reference-fastify',
    script: join(benchDist, 'baselines', 'fastify-proxy.js'),
    port: referencePort,
    logDir,
    env: { NODE_ENV: 'production', REFERENCE_PORT: String(referencePort), UPSTREAM_URL: echo.url },
  });
  cleanup.servers.push(reference);

  log('checking every server does the real work before timing it');
  const auth = { authorization: `Bearer ${oneToken}` };
  const sub = subjectOf(oneToken!);
  const tampered = `${oneToken!.slice(0, -4)}${oneToken!.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  const checks: Record<string, string> = {};
  checks['gateway public route'] = await probe(`${gateway.url}/public/probe`, {}, 200, secret, null);
  checks['gateway valid token'] = await probe(`${gateway.url}/orders/probe`, { ...auth, 'x-user-id': 'forged', 'X-User-Role': 'admin' }, 200, secret, sub);
  checks['gateway tampered token'] = await probe(`${gateway.url}/orders/probe`, { authorization: `Bearer ${tampered}` }, 401, null, null);
  checks['gateway no token, forged x-user-id'] = await probe(`${gateway.url}/orders/probe`, { 'x-user-id': sub }, 401, null, null);
  checks['gateway one of the many tokens'] = await probe(`${gateway.url}/orders/probe`, { authorization: `Bearer ${manyTokens[0]}` }, 200, secret, subjectOf(manyTokens[0]!));
  checks['reference proxy'] = await probe(`${reference.url}/orders/probe`, {}, 200, secret, null);
  for (const [name, server] of [['baseline', baseline], ['baseline keep-alive', baselineKeepAlive]] as const) {
    if (!server) continue;
    checks[`${name} valid token`] = await probe(`${server.url}/orders/probe`, { ...auth, 'x-user-id': 'forged' }, 200, secret, sub);
    checks[`${name} tampered token`] = await probe(`${server.url}/orders/probe`, { authorization: `Bearer ${tampered}` }, 401, null, null);
  }

  const scenarios: HttpScenario[] = [
    { key: 'upstream', label: '1. upstream alone (echo)', url: `${echo.url}/orders/bench`, server: echo },
    { key: 'gateway_proxy', label: '2. gateway, pure proxy (auth off)', url: `${gateway.url}/public/bench`, server: gateway },
    { key: 'reference_fastify', label: '2r. reference: bare fastify + @fastify/reply-from, no gateway work', url: `${reference.url}/orders/bench`, server: reference },
    { key: 'gateway_auth', label: '3. gateway, full verification, one token', url: `${gateway.url}/orders/bench`, server: gateway, headers: auth },
    {
      key: 'gateway_auth_many',
      label: `4. gateway, full verification, ${settings.tokenCount.toLocaleString('en-US')} tokens round-robin`,
      url: `${gateway.url}/orders/bench`,
      server: gateway,
      tokenFile,
      tokenCursor: { next: 0, count: settings.tokenCount },
    },
    { key: 'baseline', label: '5. express + jsonwebtoken + http-proxy-middleware', url: `${baseline.url}/orders/bench`, server: baseline, headers: auth },
  ];
  if (baselineKeepAlive) {
    scenarios.push({ key: 'baseline_keepalive', label: '5b. the same, tuned: keep-alive agent to the upstream', url: `${baselineKeepAlive.url}/orders/bench`, server: baselineKeepAlive, headers: auth });
  }

  if (only) scenarios.splice(0, scenarios.length, ...scenarios.filter((s) => only.includes(s.key)));
  log(`warm-up: ${settings.warmupSec} s per scenario`);
  for (const scenario of scenarios) await measureHttp(scenario, settings.warmupSec, workDir, echo);

  const runs = new Map<string, RunFigures[]>(scenarios.map((s) => [s.key, []]));
  for (let round = 0; round < settings.rounds; round++) {
    const { rest, chain } = roundOrder(scenarios, round);
    const measure = async (scenario: HttpScenario) => {
      const figures = { ...(await measureHttp(scenario, settings.durationSec, workDir, echo)), round };
      runs.get(scenario.key)!.push(figures);
      log(`round ${round + 1}/${settings.rounds} ${scenario.key}: ${Math.round(figures.rps)} req/s, p99 ${figures.p99Ms.toFixed(2)} ms, ${figures.cpuUsPerRequest.toFixed(0)} µs CPU/req`);
    };
    for (const scenario of rest) await measure(scenario);
    // The gateway sat idle through the other servers' runs, long enough for its idle upstream
    // connections to time out (keepAliveMaxTimeout, 5 s). One unmeasured second of load reopens
    // them, so the 50 reconnects do not land in the p99 of whichever scenario comes first.
    if (rest.length > 0 && chain.some((scenario) => scenario.server === gateway)) await runWrk({ url: `${gateway.url}/public/bench`, durationSec: 1, connections: settings.connections, workDir });
    for (const scenario of chain) await measure(scenario);
  }

  let coldFirstPass: (RunFigures & { tokens: number; wrapped: boolean }) | null = null;
  if (settings.coldTokens > 0 && (!only || only.includes('gateway_cold_first_pass'))) {
    // Every request a token the gateway has never seen: the verification cost without the cache,
    // on a warm process. Measured once, after the rounds (a fully warm process), over fewer requests than tokens.
    log('cold first pass: every token new to the gateway');
    const figures = await measureHttp({ key: 'cold', label: 'cold', url: `${gateway.url}/orders/bench`, server: gateway, tokenFile: coldFile }, 1, workDir, echo);
    coldFirstPass = { ...figures, tokens: settings.coldTokens, wrapped: figures.requests > settings.coldTokens };
  }

  const gatewayMemory = memory(gateway.pid);
  const gatewayInternals = await gatewayMetrics(`http://127.0.0.1:${gatewayMetricsPort}`);
  const summaries = scenarios.map((s) =>
    summarize(s.key, s.label, runs.get(s.key)!, s.tokenCursor ? { passesOverTokens: round(runs.get(s.key)!.reduce((sum, r) => sum + r.requests, 0) / s.tokenCursor.count, 1) } : {}),
  );
  if (coldFirstPass) {
    summaries.push(
      summarize('gateway_cold_first_pass', `4c. gateway, every token new (first pass over ${settings.coldTokens.toLocaleString('en-US')} fresh tokens, one 1 s run)`, [coldFirstPass], {
        wrapped: coldFirstPass.wrapped,
      }),
    );
  }
  return { summaries, checks, gatewayPeakRssMb: gatewayMemory?.peakRssMb ?? NaN, gatewayInternals, gateway, echo, gatewaySecret };
}

/**
 * The order of one round. The targets compare scenarios 3, 4 and 5 with the fixed reference 2r
 * (3/2r, 4/2r, 3/5), and a pair's ratio is taken within a round: so those run back to back, 3 and
 * 4 swapping places around 2r every round (4 2r 3 5, then 3 2r 4 5), so 3/2r and 4/2r are each
 * measured seconds apart in both orders. A burst of load from another tenant then lands on both
 * sides of a pair or shifts one round's ratio, which the median over rounds drops. The express
 * baseline, which leaves the most work behind when its load stops, ends the chain (and every run
 * waits for quiet CPUs first: lib/quiet.ts). The scenarios no target compares (1, 2, 5b) come
 * first, rotated, in every other round only (the full run's time limit is 5 minutes); their
 * ratios pair by round.
 */
function roundOrder(scenarios: HttpScenario[], round: number): { rest: HttpScenario[]; chain: HttpScenario[] } {
  const chainKeys = round % 2 === 0 ? ['gateway_auth_many', 'reference_fastify', 'gateway_auth', 'baseline'] : ['gateway_auth', 'reference_fastify', 'gateway_auth_many', 'baseline'];
  const chain = chainKeys.flatMap((key) => scenarios.filter((s) => s.key === key));
  const rest = round % 2 === 0 ? scenarios.filter((s) => !chainKeys.includes(s.key)) : [];
  return { rest: rest.map((_, i) => rest[(i + round / 2) % rest.length]!), chain };
}

interface AuthRun extends LoadResult {
  serverCpuUsPerOp: number | null;
  /** Refresh only: queries the service sent to PostgreSQL per operation (counted in its pg driver). */
  pgRoundTripsPerOp?: number | null;
  /** Refresh only: CPU of the database's PostgreSQL backends per operation, µs (/proc). */
  pgCpuUsPerOp?: number | null;
}

/** `echo` undefined (--auth-only): no gateways, so no revocation scenario. */
async function authScenarios(logDir: string, echo: ServerProcess | undefined, gatewaySecret: string, cleanup: Cleanup) {
  const environment = await createTestEnvironment({ LOG_LEVEL: 'warn', GATEWAY_SECRET: gatewaySecret, ISSUER: issuerUrl, AUDIENCE: audience });
  cleanup.environments.push(environment);
  if (!realDatabaseUrl) notes.push('DATABASE_URL unset: the auth service ran on embedded PGlite; PostgreSQL round trips and CPU per refresh were not measured.');
  const authScript = script('services', 'auth', 'dist', 'main.js');
  requireBuilt(authScript, 'The auth service');
  const authFlags = serviceNodeFlags('auth');
  if (authFlags.length > 0) notes.push(`The auth service ran with the Node flags of its start script: ${authFlags.join(' ')}.`);
  const concurrency = settings.authConcurrency;
  const users = Array.from({ length: concurrency }, (_, i) => ({ email: `bench-${i}@example.com`, password: `bench password ${i} ${randomBytes(4).toString('hex')}` }));

  /** An auth service on `env`'s database with the bench users registered; its pg queries counted (lib/count-queries.ts). */
  const startAuth = async (name: string, env: Record<string, string>, withProfile: boolean) => {
    const port = await freePort();
    const queryCountFile = join(logDir, `${name}-pg-queries.txt`);
    const server = await startServer({
      name,
      script: authScript,
      port,
      logDir,
      readyPath: '/readyz',
      nodeArgs: [
        ...authFlags,
        '--import',
        pathToFileURL(join(benchDist, 'lib', 'count-queries.js')).href,
        ...(process.env.BENCH_AUTH_NODE_ARGS?.split(' ') ?? []),
        ...(withProfile ? ['--cpu-prof', `--cpu-prof-dir=${join(repo, 'bench', 'profiles', 'auth')}`] : []),
      ],
      timeoutMs: 60_000,
      env: {
        ...env,
        HOST: '127.0.0.1',
        AUTH_PORT: String(port),
        // The limiter still runs on every login; the limits are raised so a benchmark is not throttled.
        RATE_LIMIT_LOGIN_PER_IP: '100000',
        RATE_LIMIT_LOGIN_PER_ACCOUNT: '100000',
        RATE_LIMIT_REGISTER_PER_IP: '100000',
        BENCH_QUERY_COUNT_FILE: queryCountFile,
        BENCH_PG_FROM: script('packages', 'db', 'dist', 'index.js'),
      },
    });
    cleanup.servers.push(server);
    for (const user of users) {
      const response = await fetch(`${server.url}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
      if (response.status !== 201) throw new Error(`register answered ${response.status}: ${await response.text()}`);
    }
    return { server, queryCountFile, databaseUrl: env.DATABASE_URL };
  };
  const main = await startAuth('auth', environment.env, profile);
  const auth = main.server;

  const readCount = (file: string): number => {
    try {
      return Number(readFileSync(file, 'utf8'));
    } catch {
      return NaN;
    }
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 120));

  const base = { concurrency, durationSec: settings.authSec, warmupSec: settings.authWarmupSec };
  // Login and refresh go through wrk like the HTTP scenarios (lib/auth-wrk.ts: a Node client's own
  // CPU would be taken from the auth service on these shared cores); wrk counts whole seconds.
  const wrkSeconds = (seconds: number) => Math.max(1, Math.ceil(seconds));
  type AuthTarget = { server: ServerProcess; queryCountFile?: string; databaseUrl?: string | undefined };
  const authWrk = async (kind: 'login' | 'refresh', warmupSec: number, target: AuthTarget = main): Promise<AuthRun> => {
    const { server } = target;
    const run = async (durationSec: number, tokens?: string[]) => {
      const options = { authUrl: server.url, concurrency, durationSec, workDir: logDir };
      return kind === 'login' ? wrkLogins(options, users) : wrkRefreshes(options, tokens!);
    };
    await run(wrkSeconds(warmupSec), kind === 'refresh' ? await freshRefreshTokens(server.url, users) : undefined);
    // Fresh sessions for the timed run, made before its CPU is counted.
    const tokens = kind === 'refresh' ? await freshRefreshTokens(server.url, users) : undefined;
    await waitForQuiet(server === auth ? kind : `${kind} (${server.name})`);
    const counting = kind === 'refresh' && target.queryCountFile !== undefined;
    if (counting) await settle();
    const queriesBefore = counting ? readCount(target.queryCountFile!) : NaN;
    const pgBefore = counting && target.databaseUrl ? await readBackendCpu(target.databaseUrl) : null;
    const cpuBefore = cpuMicros(server.pid) ?? NaN;
    const result = await run(wrkSeconds(settings.authSec), tokens);
    const cpu = (cpuMicros(server.pid) ?? NaN) - cpuBefore;
    const pgCpu = counting && target.databaseUrl ? backendCpuBetween(pgBefore, await readBackendCpu(target.databaseUrl)) : null;
    if (counting) await settle();
    const queries = counting ? readCount(target.queryCountFile!) - queriesBefore : NaN;
    const perOp = (value: number | null) => (value !== null && Number.isFinite(value) && result.requests > 0 ? round(value / result.requests, 2) : null);
    return {
      operations: result.requests,
      seconds: result.seconds,
      rate: result.rps,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      serverCpuUsPerOp: Number.isFinite(cpu) && result.requests > 0 ? round(cpu / result.requests, 1) : null,
      ...(kind === 'refresh' ? { pgRoundTripsPerOp: perOp(queries), pgCpuUsPerOp: perOp(pgCpu) === null ? null : round(pgCpu! / result.requests, 1) } : {}),
    };
  };
  const passwordsModule = script('services', 'auth', 'dist', 'accounts', 'passwords.js');
  // The least any contract-keeping login must do (baselines/minimal-login.ts): context for the
  // login target on this machine. It needs a real PostgreSQL and Redis.
  let minimalLogin: ServerProcess | undefined;
  if (!quick && realDatabaseUrl && realRedisUrl) {
    const usersFile = join(logDir, 'minimal-login-users.json');
    writeFileSync(usersFile, JSON.stringify(users));
    const port = await freePort();
    minimalLogin = await startServer({
      name: 'minimal-login',
      script: join(benchDist, 'baselines', 'minimal-login.js'),
      port,
      logDir,
      timeoutMs: 60_000,
      env: { NODE_ENV: 'production', MINIMAL_LOGIN_PORT: String(port), DATABASE_URL: environment.env.DATABASE_URL!, REDIS_URL: realRedisUrl, MINIMAL_LOGIN_USERS: usersFile, AUTH_DIST: script('services', 'auth', 'dist') },
    });
    cleanup.servers.push(minimalLogin);
  } else if (!quick) {
    notes.push('DATABASE_URL or REDIS_URL unset: the minimal reference login was not run (login_reference_vs_argon2 is null).');
  }
  const argon2Runs: (LoadResult & { serverCpuUsPerOp: number | null })[] = [];
  const loginRuns: AuthRun[] = [];
  const minimalLoginRuns: AuthRun[] = [];
  const signRuns: (LoadResult & { serverCpuUsPerOp: number | null })[] = [];
  const refreshRuns: AuthRun[] = [];
  let argon2Source: string | undefined;
  for (let round = 0; round < settings.authRounds; round++) {
    // The service's first round gets a longer warm-up: at ~100 logins/s or ~400 refreshes/s, one
    // second is too few calls for V8 to optimise the path (round 1 used to run 15-30 % below the
    // others). The raw limits are fresh processes every round, with their own warm-up.
    const serviceWarmupSec = round === 0 ? settings.authFirstWarmupSec : settings.authWarmupSec;
    const argon2 = await runLoadProcess({ ...base, mode: 'argon2', authPasswordsModule: passwordsModule });
    argon2Source = argon2.parameters
      ? `${argon2.parameters.source} (${JSON.stringify(argon2.parameters.options)}); at most ${argon2.hashesAtOnce?.value ?? '?'} verifies at once (the service's default PASSWORD_HASH_CONCURRENCY, ${argon2.hashesAtOnce?.source ?? 'unknown'})`
      : undefined;
    argon2Runs.push(argon2);
    // The reference runs before the service in even rounds and after it in odd ones, so neither
    // always inherits the other's leftover work.
    const referenceFirst = round % 2 === 0;
    if (minimalLogin && referenceFirst) minimalLoginRuns.push(await authWrk('login', serviceWarmupSec, { server: minimalLogin }));
    loginRuns.push(await authWrk('login', serviceWarmupSec));
    if (minimalLogin && !referenceFirst) minimalLoginRuns.push(await authWrk('login', serviceWarmupSec, { server: minimalLogin }));
    const referenceRate = minimalLoginRuns.length > round ? `, minimal reference login ${minimalLoginRuns[round]!.rate.toFixed(1)}/s` : '';
    log(`auth round ${round + 1}: argon2 ${argon2.rate.toFixed(1)}/s (${argon2.serverCpuUsPerOp} µs CPU), login ${loginRuns.at(-1)!.rate.toFixed(1)}/s (${loginRuns.at(-1)!.serverCpuUsPerOp} µs CPU)${referenceRate}`);
    // One core's RS256 signatures, right before the refreshes it is compared with.
    signRuns.push(await runLoadProcess({ mode: 'rs256', concurrency: 1, durationSec: settings.signSec, warmupSec: 0.5 }));
    refreshRuns.push(await authWrk('refresh', serviceWarmupSec));
    const last = refreshRuns.at(-1)!;
    log(`auth round ${round + 1}: RS256 signs ${signRuns.at(-1)!.rate.toFixed(0)}/s, refresh ${last.rate.toFixed(0)}/s (${last.serverCpuUsPerOp} µs CPU, ${last.pgRoundTripsPerOp ?? '-'} PG round trips, ${last.pgCpuUsPerOp ?? '-'} µs PG CPU)`);
  }
  if (argon2Source?.startsWith('copied')) notes.push('services/auth did not export ARGON2_OPTIONS: the raw argon2 rate used the copied numbers.');

  const jwksRuns: WrkResult[] = [];
  for (let round = 0; round < settings.authRounds; round++) {
    jwksRuns.push(await runWrk({ url: `${auth.url}/.well-known/jwks.json`, durationSec: Math.min(settings.durationSec, 3), connections: settings.connections, workDir: logDir }));
  }

  // The same refresh with the other signing algorithms (context: what SIGNING_ALG buys), each on its
  // own database (one current key per database), one service at a time.
  const contextRefresh: Record<string, AuthRun[]> = {};
  for (const alg of settings.contextAlgRounds > 0 ? CONTEXT_ALGS : []) {
    const algEnvironment = await createTestEnvironment({ LOG_LEVEL: 'warn', GATEWAY_SECRET: gatewaySecret, ISSUER: issuerUrl, AUDIENCE: audience, SIGNING_ALG: alg });
    cleanup.environments.push(algEnvironment);
    const target = await startAuth(`auth-${alg.toLowerCase()}`, algEnvironment.env, false);
    contextRefresh[alg] = [];
    for (let round = 0; round < settings.contextAlgRounds; round++) {
      contextRefresh[alg].push(await authWrk('refresh', round === 0 ? settings.authFirstWarmupSec : settings.authWarmupSec, target));
      log(`refresh with SIGNING_ALG=${alg}, round ${round + 1}: ${contextRefresh[alg].at(-1)!.rate.toFixed(0)}/s (${contextRefresh[alg].at(-1)!.serverCpuUsPerOp} µs CPU)`);
    }
    await target.server.stop();
  }

  const pick = (runs: AuthRun[] | (LoadResult & { serverCpuUsPerOp?: number | null })[], label: string): RateSummary | null =>
    runs.length === 0
      ? null
      : {
          label,
          rate: round(median(runs.map((r) => r.rate)), 1),
          p50Ms: round(median(runs.map((r) => r.p50Ms)), 2),
          p99Ms: round(median(runs.map((r) => r.p99Ms)), 2),
          cpuUsPerOp: runs[0]!.serverCpuUsPerOp === undefined ? null : round(median(runs.map((r) => r.serverCpuUsPerOp ?? NaN)), 1),
          runs: runs.map((r) => round(r.rate, 1)),
          cpuRuns: runs.map((r) => r.serverCpuUsPerOp ?? NaN),
          ...('pgRoundTripsPerOp' in runs[0]! ? { pgRoundTripsPerOp: round(median(runs.map((r) => (r as AuthRun).pgRoundTripsPerOp ?? NaN)), 2) } : {}),
          ...('pgCpuUsPerOp' in runs[0]! ? { pgCpuUsPerOp: round(median(runs.map((r) => (r as AuthRun).pgCpuUsPerOp ?? NaN)), 1) } : {}),
        };
  const auth_ = {
    concurrency,
    argon2Parameters: argon2Source ?? null,
    login: pick(loginRuns, 'POST /auth/login (auth service)'),
    loginReference: pick(minimalLoginRuns, 'POST /auth/login, minimal reference (baselines/minimal-login.ts)'),
    argon2Raw: pick(argon2Runs, 'raw argon2id verify, same parameters'),
    refresh: pick(refreshRuns, 'POST /auth/refresh (auth service, SIGNING_ALG=RS256)'),
    rs256Sign: pick(signRuns, `RS256 signatures, one core, node:crypto, ${MIN_RSA_MODULUS_BITS}-bit key (fixed reference)`),
    refreshByAlg: Object.fromEntries(Object.entries(contextRefresh).map(([alg, runs]) => [alg, pick(runs, `POST /auth/refresh, SIGNING_ALG=${alg} (context)`)])),
    jwks: {
      label: 'GET /.well-known/jwks.json (auth service)',
      rate: round(median(jwksRuns.map((r) => r.rps)), 1),
      p50Ms: round(median(jwksRuns.map((r) => r.p50Ms)), 2),
      p99Ms: round(median(jwksRuns.map((r) => r.p99Ms)), 2),
      cpuUsPerOp: null,
      runs: jwksRuns.map((r) => round(r.rps, 1)),
    },
  };

  let revocation: (RevocationResult & { gateways: number }) | null = null;
  if (!echo) {
    log('--auth-only: no revocation scenario');
  } else if (!realRedisUrl) {
    notes.push('REDIS_URL unset: the revocation scenario (two gateways on one Redis) was not run; revocation_p99_ms is null.');
    log('REDIS_URL unset: skipping the revocation scenario');
  } else {
    log(`revocation: ${settings.revocationTrials} trials, two gateways on one Redis`);
    const gateways: ServerProcess[] = [];
    for (const name of ['gateway-a', 'gateway-b']) {
      const port = await freePort();
      const server = await startServer({
        name,
        script: script('services', 'gateway', 'dist', 'main.js'),
        port,
        logDir,
        readyPath: '/readyz',
        nodeArgs: serviceNodeFlags('gateway'),
        env: {
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          HOST: '127.0.0.1',
          GATEWAY_PORT: String(port),
          // Two gateways on one machine: each takes a free operations port.
          METRICS_PORT: '0',
          DATA_DIR: environment.env.DATA_DIR!,
          AUTH_URL: auth.url,
          ORDERS_URL: echo.url,
          NOTIFICATIONS_URL: echo.url,
          GATEWAY_SECRET: gatewaySecret,
          ISSUER: issuerUrl,
          AUDIENCE: audience,
          REDIS_URL: realRedisUrl,
          REDIS_PREFIX: environment.env.REDIS_PREFIX!,
          RATE_LIMIT_PUBLIC_PER_IP: '1000000000',
          RATE_LIMIT_USER: '1000000000',
          INSTANCE_NAME: name,
        },
      });
      cleanup.servers.push(server);
      gateways.push(server);
    }
    const tokens = await loginSessions(auth.url, users[0]!, settings.revocationTrials, concurrency);
    revocation = { ...(await runRevocationTrials(gateways[0]!.url, gateways[1]!.url, tokens)), gateways: 2 };
    for (const [key, value] of Object.entries(revocation)) if (typeof value === 'number') (revocation as unknown as Record<string, number>)[key] = round(value, 2);
    log(`revocation: p50 ${revocation.p50Ms} ms, p99 ${revocation.p99Ms} ms, timeouts ${revocation.timeouts}`);
  }
  return { auth: auth_, revocation };
}

function machine() {
  const list = cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  let wrk = 'unknown';
  try {
    wrk = execFileSync('wrk', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch (error) {
    wrk = ((error as { stdout?: string }).stdout ?? '').split('\n')[0]?.trim() || 'wrk';
  }
  return { cpu: list[0]?.model ?? 'unknown', cores: list.length, memoryGb: round(totalmem() / 2 ** 30, 1), node: process.version, platform: `${process.platform} ${process.arch}`, commit, wrk };
}

const ratio = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? round(a / b, 3) : null);

/**
 * The median of the per-round ratios: both sides of each ratio were measured in the same round,
 * seconds apart, so drift on the shared machine cancels better than in a ratio of medians.
 */
function pairedRatio(a: readonly number[] | undefined, b: readonly number[] | undefined): number | null {
  if (!a || !b) return null;
  const values: number[] = [];
  // forEach skips holes: a round only one side ran has no pair.
  a.forEach((value, i) => {
    const quotient = value / b[i]!;
    if (Number.isFinite(quotient)) values.push(quotient);
  });
  return values.length === 0 ? null : round(median(values), 3);
}

async function main(): Promise<void> {
  const started = Date.now();
  if (!wrkAvailable()) throw new Error('wrk is not installed: `apt-get install -y wrk` (Debian package)');
  const workDir = mkdtempSync(join(tmpdir(), 'keygate-bench-'));
  const logDir = flag('--keep-logs') ? join(repo, 'bench', 'results', 'logs') : workDir;
  mkdirSync(logDir, { recursive: true });
  const cleanup: Cleanup = { servers: [], environments: [] };
  let failed = false;
  try {
    log(`${quick ? 'quick' : 'full'} run; logs in ${logDir}`);
    const proxy = authOnly
      ? { summaries: [] as ScenarioSummary[], checks: {} as Awaited<ReturnType<typeof proxyScenarios>>['checks'], gatewayPeakRssMb: NaN, gatewayInternals: {}, gateway: undefined, echo: undefined, gatewaySecret: secretBase64() }
      : await proxyScenarios(workDir, logDir, cleanup);
    if (profile && proxy.gateway) {
      // Stop the gateway now so it writes its CPU profile of exactly the proxy scenarios.
      await proxy.gateway.stop();
      log(`CPU profile written to ${relative(repo, join(repo, 'bench', 'profiles'))}/`);
    }
    const { auth, revocation } = proxyOnly ? { auth: null, revocation: null } : await authScenarios(logDir, proxy.echo, proxy.gatewaySecret, cleanup);
    const by = (key: string) => proxy.summaries.find((s) => s.key === key);
    // One figure per round, at the round's index (a hole where the scenario skipped the round), so
    // pairedRatio pairs runs of the same round.
    const perRound = (key: string, figure: (run: RunFigures) => number): number[] | undefined => {
      const runs = by(key)?.runs;
      if (!runs) return undefined;
      const series: number[] = [];
      runs.forEach((run, i) => (series[run.round ?? i] = figure(run)));
      return series;
    };
    const rps = (key: string) => perRound(key, (r) => r.rps);
    const p99 = (key: string) => perRound(key, (r) => r.p99Ms);
    // The targets of issue 19, each against a fixed reference that does not move when keygate changes.
    const ratios = {
      auth_vs_reference: pairedRatio(rps('gateway_auth'), rps('reference_fastify')),
      p99_auth_vs_reference: pairedRatio(p99('gateway_auth'), p99('reference_fastify')),
      cold_vs_reference: pairedRatio(rps('gateway_auth_many'), rps('reference_fastify')),
      first_pass_vs_reference: ratio(by('gateway_cold_first_pass')?.rps, by('reference_fastify')?.rps),
      auth_vs_baseline: pairedRatio(rps('gateway_auth'), rps('baseline')),
      refresh_vs_rs256_sign: pairedRatio(auth?.refresh?.runs, auth?.rs256Sign?.runs),
      // CPU of the process doing the work: the raw-hash process per verify, the auth service per login.
      login_cpu_vs_argon2_cpu: pairedRatio(auth?.argon2Raw?.cpuRuns, auth?.login?.cpuRuns),
      // Context, not targets.
      auth_vs_proxy: pairedRatio(rps('gateway_auth'), rps('gateway_proxy')),
      cold_vs_proxy: pairedRatio(rps('gateway_auth_many'), rps('gateway_proxy')),
      p99_auth_vs_proxy: pairedRatio(p99('gateway_auth'), p99('gateway_proxy')),
      auth_vs_baseline_keepalive: pairedRatio(rps('gateway_auth'), rps('baseline_keepalive')),
      proxy_vs_upstream: pairedRatio(rps('gateway_proxy'), rps('upstream')),
      proxy_vs_reference: pairedRatio(rps('gateway_proxy'), rps('reference_fastify')),
      login_vs_argon2: pairedRatio(auth?.login?.runs, auth?.argon2Raw?.runs),
      login_reference_vs_argon2: pairedRatio(auth?.loginReference?.runs, auth?.argon2Raw?.runs),
      login_vs_reference: pairedRatio(auth?.login?.runs, auth?.loginReference?.runs),
      refresh_es256_vs_rs256_sign: ratio(auth?.refreshByAlg.ES256?.rate, auth?.rs256Sign?.rate),
      refresh_eddsa_vs_rs256_sign: ratio(auth?.refreshByAlg.EdDSA?.rate, auth?.rs256Sign?.rate),
    };
    const gatewayRss = Math.max(proxy.gatewayPeakRssMb, ...proxy.summaries.filter((s) => s.key.startsWith('gateway')).map((s) => s.rssMb));
    // The same comparisons by CPU per request (requests one core carries): steadier than
    // throughput when other work shares the machine, and equal to it when the server is the bottleneck.
    const cpu = (key: string) => perRound(key, (r) => r.cpuUsPerRequest);
    // [ratio, server, the one it is compared with]: the throughput ratios above of the same name, by CPU (inverted: less is more).
    const byCpu = [
      ['auth_vs_reference', 'gateway_auth', 'reference_fastify'], ['cold_vs_reference', 'gateway_auth_many', 'reference_fastify'],
      ['auth_vs_baseline', 'gateway_auth', 'baseline'], ['auth_vs_baseline_keepalive', 'gateway_auth', 'baseline_keepalive'],
      ['auth_vs_proxy', 'gateway_auth', 'gateway_proxy'], ['proxy_vs_reference', 'gateway_proxy', 'reference_fastify'],
    ] as const;
    const capacityRatios: Record<string, number | null> = {
      ...Object.fromEntries(byCpu.map(([name, server, against]) => [name, pairedRatio(cpu(against), cpu(server))])),
      // By CPU: one signature's CPU against the auth process's CPU per refresh (PostgreSQL's not included).
      refresh_vs_rs256_sign: pairedRatio(auth?.rs256Sign?.cpuRuns, auth?.refresh?.cpuRuns),
      login_reference_vs_argon2: ratio(auth?.argon2Raw?.cpuUsPerOp ?? undefined, auth?.loginReference?.cpuUsPerOp ?? undefined),
    };
    const report: BenchReport = {
      mode: quick ? 'quick' : 'full',
      date: new Date().toISOString(),
      durationSec: 0,
      command: quick ? 'pnpm bench --quick' : 'pnpm bench',
      machine: machine(),
      settings: { ...settings, redis: realRedisUrl !== undefined, database: realDatabaseUrl !== undefined },
      checks: proxy.checks,
      scenarios: proxy.summaries,
      auth,
      revocation,
      ratios,
      capacity_ratios: capacityRatios,
      revocation_p99_ms: revocation ? revocation.p99Ms : null,
      gateway_rss_mb: round(gatewayRss, 1),
      gateway_memory_after_load: proxy.gatewayInternals,
      targets: [],
      runs: null,
      notes: noisyStarts.length === 0 ? notes : [...notes, `${noisyStarts.length} measured run(s) started before the CPUs went quiet (waited 3 s): ${noisyStarts.join(', ')}.`],
    };
    report.targets = targetsOf(report);
    report.durationSec = Math.round((Date.now() - started) / 1000);
    writeResults(report);
  } catch (error) {
    failed = true;
    for (const server of cleanup.servers) log(`--- ${server.name} log tail ---\n${tail(server.logFile)}`);
    throw error;
  } finally {
    await Promise.allSettled(cleanup.servers.map((server) => server.stop()));
    await Promise.allSettled(cleanup.environments.map((environment) => environment.cleanup()));
    if (!failed && logDir === workDir) rmSync(workDir, { recursive: true, force: true });
  }
}

/** Writes the report (and the docs, for a full run), and prints every target as met or missed. */
function writeResults(report: BenchReport): void {
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  log(`results: ${relative(process.cwd(), outFile)} (${report.durationSec} s)`);
  if (writeDocs) {
    const analysisFile = join(repo, 'bench', 'analysis.md');
    const analysis = existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : '';
    writeFileSync(join(repo, 'docs', 'benchmarks.md'), renderMarkdown(report, analysis));
    log('docs/benchmarks.md updated');
  }
  for (const target of report.targets) log(`${target.met === null ? 'n/a   ' : target.met ? 'met   ' : 'MISSED'} ${target.key}: ${target.value} (target ${target.higherIsBetter ? '≥' : '≤'} ${target.limit})`);
}

/**
 * `--runs N`: N whole runs one after another, each its own process writing
 * bench/results/runs/<n>.json; then latest.json holds the median of each ratio over the runs with
 * its spread (min, max, every value), and docs/benchmarks.md is written from that.
 */
async function multiRun(count: number): Promise<void> {
  const started = Date.now();
  const runsDir = join(repo, 'bench', 'results', 'runs');
  rmSync(runsDir, { recursive: true, force: true });
  mkdirSync(runsDir, { recursive: true });
  const passOn: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs' || args[i] === '--out') i++;
    else if (args[i] !== '--docs') passOn.push(args[i]!);
  }
  const reports: BenchReport[] = [];
  for (let run = 1; run <= count; run++) {
    const out = join(runsDir, `${run}.json`);
    log(`run ${run} of ${count}`);
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...passOn, '--out', out, '--no-docs'], { stdio: ['ignore', 'inherit', 'inherit'] });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`run ${run} failed (exit ${code})`);
    reports.push(JSON.parse(readFileSync(out, 'utf8')) as BenchReport);
  }
  const report = aggregateReports(reports, `pnpm bench${quick ? ' --quick' : ''} --runs ${count}`);
  report.durationSec = Math.round((Date.now() - started) / 1000);
  writeResults(report);
}

/** `--render`: docs/benchmarks.md again from bench/results/latest.json and bench/analysis.md, nothing measured. */
function renderOnly(): Promise<void> {
  const report = JSON.parse(readFileSync(join(repo, 'bench', 'results', 'latest.json'), 'utf8')) as BenchReport;
  const analysisFile = join(repo, 'bench', 'analysis.md');
  writeFileSync(join(repo, 'docs', 'benchmarks.md'), renderMarkdown(report, existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : ''));
  log('docs/benchmarks.md rendered from bench/results/latest.json');
  return Promise.resolve();
}

const runCount = Number(option('--runs') ?? 1);
(flag('--render') ? renderOnly() : runCount > 1 ? multiRun(runCount) : main()).catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});

