/**
 * A private redis-server child on its own port, without persistence, that the Redis outage test
 * may stop and start at will without disturbing the machine's Redis other test files use.
 * Stopping it loses every key, as a Redis restart without persistence does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { Test } from 'tap';
import { freePort } from '@keygate/testing';
import { tryCall } from './client.js';
import { redisServerBinary } from './prerequisites.js';
import { trackChild } from './process.js';
import { Stack, type StackOptions } from './stack.js';
import { sleep } from './timing.js';

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly binary: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(binary: string): Promise<PrivateRedis> {
    const redis = new PrivateRedis(binary, await freePort());
    await redis.start();
    return redis;
  }

  /** Starts (again) on the same port, empty. */
  async start(): Promise<void> {
    const child = spawn(this.binary, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    trackChild(child);
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${this.port}`);
      if (await ping(this.port)) return;
      // Fine-grained: tests measure from the moment Redis answers (the return of this method).
      await sleep(10);
    }
    throw new Error(`redis-server did not answer on port ${this.port} within 10 s`);
  }

  /** SIGTERM (or `signal`, e.g. SIGKILL for a crash) and wait: without persistence, everything it held is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * A stack on a private redis-server for test `t` (which may then stop and start Redis at will);
 * both stopped in its teardown, with diagnostics printed if `t` failed.
 */
export async function startStackOnPrivateRedis(t: Test, options: Omit<StackOptions, 'redisUrl'>): Promise<{ stack: Stack; redis: PrivateRedis }> {
  const binary = redisServerBinary();
  if (!binary) throw new Error('redis-server is not installed');
  const redis = await PrivateRedis.start(binary);
  const stack = await Stack.start({ ...options, redisUrl: redis.url }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  t.teardown(async () => {
    if (!t.passing()) process.stderr.write(`${stack.diagnostics()}\n`);
    await stack.stop();
    await redis.stop();
  });
  return { stack, redis };
}

/** A gateway's gateway_revocation_live value, read from its operations listener (`base` = metricsUrl) ('1' or '0'), or undefined when it does not answer. */
export async function revocationLive(base: string): Promise<string | undefined> {
  const reply = await tryCall(base, 'GET', '/metrics', { timeoutMs: 2_000 });
  return /^gateway_revocation_live(?:\{[^}]*\})? (\d+)/m.exec(typeof reply.body === 'string' ? reply.body : '')?.[1];
}
