/**
 * The limits the auth scenarios are measured against, each run as its own process
 * (`node auth-load.js <json>`): `concurrency` closed loops for `durationSec` after a short
 * warm-up, printing one JSON line: {operations, seconds, rate, p50Ms, p99Ms}. (Login and refresh
 * themselves go through wrk: auth-wrk.ts.)
 *
 *   argon2  raw @node-rs/argon2 verify with the auth service's parameters: the limit for login.
 *           Measured the way the login is: `concurrency` closed loops (the login's clients), at
 *           most as many verifies at once as the service runs (its default
 *           PASSWORD_HASH_CONCURRENCY), and CPU over the measured window only.
 *   rs256   RS256 signatures of one core: node:crypto `sign` in a synchronous loop (one thread)
 *           with a key of the auth service's size (MIN_RSA_MODULUS_BITS), over a JWS signing
 *           input of an access token's length. A fixed reference for refresh: every refresh
 *           signs one access token, and nothing keygate changes moves this number.
 *
 * Every failed operation aborts the run: a fast failure must never count as throughput.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { hash, verify, type Options } from '@node-rs/argon2';
import { MIN_RSA_MODULUS_BITS } from '@keygate/tokens';
import { percentile } from './stats.js';

export interface LoadSpec {
  mode: 'argon2' | 'rs256';
  concurrency: number;
  durationSec: number;
  warmupSec: number;
  /** argon2: where services/auth's compiled passwords module lives (its config.js beside it gives the hash cap). */
  authPasswordsModule?: string;
}

export interface LoadResult {
  operations: number;
  seconds: number;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU µs per operation of this process over the measured window only (all its threads). */
  cpuUsPerOp?: number;
  /** argon2 mode: where the parameters came from. */
  parameters?: { source: 'imported' | 'copied'; options: Options };
  /** argon2 mode: verifies run at once (the service's default cap), and where that number came from. */
  hashesAtOnce?: { value: number; source: 'imported' | 'copied' };
}

/** The numbers of services/auth/src/accounts/passwords.ts, used only if that module cannot be imported. */
const COPIED_ARGON2_OPTIONS: Options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Runs `concurrency` closed loops of `operation` through a warm-up and the measured window; counts
 * the operations that complete inside the window, and their latencies.
 */
async function closedLoops(spec: LoadSpec, operation: (loop: number) => Promise<void>): Promise<LoadResult> {
  const latencies: number[] = [];
  const windowStart = performance.now() + spec.warmupSec * 1000;
  const windowEnd = windowStart + spec.durationSec * 1000;
  // The process's CPU (all threads) read at the window's edges, as the service's is read around
  // its timed run: start-up, the warm-up and the operations still running after the window are
  // not charged to the operations that completed inside it. The operations run on the thread pool,
  // so the event loop is free to read the clock on time.
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpuAtEnd: NodeJS.CpuUsage | undefined;
  const startTimer = setTimeout(() => (cpuAtStart = process.cpuUsage()), windowStart - performance.now());
  const endTimer = setTimeout(() => (cpuAtEnd = process.cpuUsage()), windowEnd - performance.now());
  const loop = async (index: number): Promise<void> => {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      await operation(index);
      const finished = performance.now();
      if (finished >= windowStart && finished <= windowEnd) latencies.push(finished - started);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, i) => loop(i)));
  if (!cpuAtEnd) await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowEnd - performance.now()) + 1));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  const seconds = spec.durationSec;
  latencies.sort((a, b) => a - b);
  const windowCpu = cpuAtStart && cpuAtEnd ? cpuAtEnd.user + cpuAtEnd.system - cpuAtStart.user - cpuAtStart.system : NaN;
  return {
    operations: latencies.length,
    seconds,
    rate: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...(Number.isFinite(windowCpu) && latencies.length > 0 ? { cpuUsPerOp: windowCpu / latencies.length } : {}),
  };
}

/** At most `limit` of `work` at once; the rest wait in order (the service's hash cap, without its lanes). */
function atMost(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

async function argon2Options(modulePath: string | undefined): Promise<{ source: 'imported' | 'copied'; options: Options }> {
  if (modulePath) {
    try {
      const module = (await import(pathToFileURL(resolve(modulePath)).href)) as { ARGON2_OPTIONS?: Options };
      if (module.ARGON2_OPTIONS) return { source: 'imported', options: module.ARGON2_OPTIONS };
    } catch {
      // fall through to the copied numbers, and say so in the result
    }
  }
  return { source: 'copied', options: COPIED_ARGON2_OPTIONS };
}

/** The service's default PASSWORD_HASH_CONCURRENCY (services/auth's config.js beside its passwords module). */
async function serviceHashCap(passwordsModule: string | undefined): Promise<{ value: number; source: 'imported' | 'copied' }> {
  if (passwordsModule) {
    try {
      const module = (await import(pathToFileURL(resolve(dirname(passwordsModule), '..', 'config.js')).href)) as { defaultHashConcurrency?: () => number };
      if (module.defaultHashConcurrency) return { value: module.defaultHashConcurrency(), source: 'imported' };
    } catch {
      // fall through to the copied rule
    }
  }
  return { value: Math.max(1, Math.min(availableParallelism(), (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1)), source: 'copied' };
}

async function runArgon2(spec: LoadSpec): Promise<LoadResult> {
  const parameters = await argon2Options(spec.authPasswordsModule);
  const hashesAtOnce = await serviceHashCap(spec.authPasswordsModule);
  const slot = atMost(hashesAtOnce.value);
  const password = 'correct horse battery staple';
  const stored = await hash(password, parameters.options);
  const result = await closedLoops(spec, async () => {
    if (!(await slot(() => verify(stored, password)))) throw new Error('argon2 verify failed');
  });
  return { ...result, parameters, hashesAtOnce };
}

/** One core's RS256 signatures per second: no event loop turns, no thread pool, just the RSA work. */
async function runRs256(spec: LoadSpec): Promise<LoadResult> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: MIN_RSA_MODULUS_BITS });
  // An access token's signing input is ~400 bytes of base64url header and claims.
  const input = Buffer.from(`${Buffer.from('{"alg":"RS256","typ":"at+jwt","kid":"x"}').toString('base64url')}.${randomBytes(300).toString('base64url')}`);
  const deadline = (seconds: number) => performance.now() + seconds * 1000;
  const warmEnd = deadline(spec.warmupSec);
  while (performance.now() < warmEnd) sign('sha256', input, privateKey);
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const end = deadline(spec.durationSec);
  for (let now = performance.now(); now < end; ) {
    sign('sha256', input, privateKey);
    const finished = performance.now();
    latencies.push(finished - now);
    now = finished;
  }
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  return {
    operations: latencies.length,
    seconds: spec.durationSec,
    rate: latencies.length / spec.durationSec,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    // Without the key generation and warm-up the process-lifetime figure would include.
    cpuUsPerOp: (cpu.user + cpu.system) / latencies.length,
  };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  switch (spec.mode) {
    case 'argon2':
      return runArgon2(spec);
    case 'rs256':
      return runRs256(spec);
  }
}

// As a process: the spec as JSON in argv[2], the result as one JSON line on stdout.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  runLoad(spec).then(
    (result) => {
      process.stdout.write(`LOAD_JSON ${JSON.stringify(result)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
