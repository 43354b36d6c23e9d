/**
 * A private redis-server child on its own port, without persistence, that the Redis outage test
 * may stop and start at will without disturbing the machine's Redis other test files use.
 * Stopping it loses every key, as a Redis restart without persistence does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { freePort } from '@keygate/testing';
import { tryCall } from './client.js';
import { redisServerBinary } from './prerequisites.js';
import { trackChild } from './process.js';
import { Stack, type StackOptions } from './stack.js';
import { sleep, waitUntil } from './timing.js';

/**
 * One inline command's raw RESP reply on `port` (read for `waitMs` after the first bytes, enough
 * for the short replies read here), or undefined when nothing answers.
 */
function command(port: number, line: string, waitMs = 50): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1_000, () => done(answer === '' ? undefined : answer));
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      timer ??= setTimeout(() => done(answer), waitMs);
    });
    socket.once('error', () => done(undefined));
  });
}

async function ping(port: number): Promise<boolean> {
  return (await command(port, 'PING', 0))?.startsWith('+PONG') ?? false;
}

interface ServerOptions {
  /** A config file (a sentinel's). */
  configFile?: string;
  /** Appended to the arguments (a replica's --replicaof, a sentinel's --sentinel). */
  args?: readonly string[];
}

export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly options: ServerOptions = {},
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(binary: string, options: ServerOptions = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(binary, await freePort(), options);
    await redis.start();
    return redis;
  }

  /** Starts (again) on the same port, empty. */
  async start(): Promise<void> {
    // redis-server takes its config file, when there is one, as the first argument.
    const file = this.options.configFile === undefined ? [] : [this.options.configFile];
    const args = [...file, '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(this.options.args ?? [])];
    const child = spawn(this.binary, args, {
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

/** A stack on `redis` (anything with a REDIS_URL and a stop), both stopped in `t`'s teardown, with diagnostics printed if `t` failed. */
async function startStackOn<R extends { url: string; stop(): Promise<void> }>(t: Test, options: Omit<StackOptions, 'redisUrl'>, redis: R): Promise<Stack> {
  const stack = await Stack.start({ ...options, redisUrl: redis.url }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  t.teardown(async () => {
    if (!t.passing()) process.stderr.write(`${stack.diagnostics()}\n`);
    await stack.stop();
    await redis.stop();
  });
  return stack;
}

function requireRedisServer(): string {
  const binary = redisServerBinary();
  if (!binary) throw new Error('redis-server is not installed');
  return binary;
}

/** A stack on a private redis-server for test `t` (which may then stop and start Redis at will). */
export async function startStackOnPrivateRedis(t: Test, options: Omit<StackOptions, 'redisUrl'>): Promise<{ stack: Stack; redis: PrivateRedis }> {
  const redis = await PrivateRedis.start(requireRedisServer());
  return { stack: await startStackOn(t, options, redis), redis };
}

/** A gauge's value ('1', '0', …; with or without labels) from an operations listener (`base` = metricsUrl), or undefined when it does not answer. */
async function gaugeValue(base: string, name: string): Promise<string | undefined> {
  const reply = await tryCall(base, 'GET', '/metrics', { timeoutMs: 2_000 });
  return new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(typeof reply.body === 'string' ? reply.body : '')?.[1];
}

/** A gateway's gateway_revocation_live value ('1' or '0'), or undefined when it does not answer. */
export function revocationLive(base: string): Promise<string | undefined> {
  return gaugeValue(base, 'gateway_revocation_live');
}

/** An auth instance's auth_redis_connected value ('1' or '0'), or undefined when it does not answer. */
export function authRedisConnected(base: string): Promise<string | undefined> {
  return gaugeValue(base, 'auth_redis_connected');
}

/** The master name the private sentinels monitor. */
export const SENTINEL_MASTER = 'm';

/**
 * A private primary, one replica and three sentinels (quorum 2, down after 1 s) on free ports:
 * killing the primary makes the sentinels promote the replica within a few seconds.
 */
export class PrivateSentinelGroup {
  private constructor(
    readonly primary: PrivateRedis,
    readonly replica: PrivateRedis,
    readonly sentinels: readonly PrivateRedis[],
    private readonly dir: string,
  ) {}

  /** REDIS_URL's Sentinel form naming the three sentinels. */
  get url(): string {
    return `redis+sentinel://${this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',')}/${SENTINEL_MASTER}`;
  }

  static async start(binary: string): Promise<PrivateSentinelGroup> {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-sentinel-'));
    const started: PrivateRedis[] = [];
    try {
      // --dir: a replica's full sync writes an RDB file, which belongs in the temp dir, not the cwd.
      const primary = await PrivateRedis.start(binary, { args: ['--dir', dir] });
      started.push(primary);
      const replica = await PrivateRedis.start(binary, { args: ['--dir', dir, '--replicaof', '127.0.0.1', String(primary.port)] });
      started.push(replica);
      // Debian's redis-sentinel is redis-server started in sentinel mode; --sentinel works with either.
      const sentinelBinary = existsSync(join(dirname(binary), 'redis-sentinel')) ? join(dirname(binary), 'redis-sentinel') : binary;
      const sentinels: PrivateRedis[] = [];
      for (let i = 0; i < 3; i += 1) {
        // Sentinel rewrites its config file, so each gets its own, writable.
        const file = join(dir, `sentinel-${i}.conf`);
        writeFileSync(
          file,
          [
            `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${primary.port} 2`,
            `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
            `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
            '',
          ].join('\n'),
        );
        const sentinel = await PrivateRedis.start(sentinelBinary, { configFile: file, args: ['--dir', dir, '--sentinel'] });
        started.push(sentinel);
        sentinels.push(sentinel);
      }
      const group = new PrivateSentinelGroup(primary, replica, sentinels, dir);
      // A failover needs every sentinel to know the replica and the other sentinels (hello messages every 2 s).
      const ready = await waitUntil(async () => (await Promise.all(sentinels.map((s) => group.readyAt(s.port)))).every(Boolean), {
        timeoutMs: 20_000,
        intervalMs: 200,
      });
      if (ready === undefined) throw new Error('the sentinels did not find the replica and each other within 20 s');
      return group;
    } catch (error) {
      await Promise.all(started.map((redis) => redis.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  private async readyAt(port: number): Promise<boolean> {
    const quorum = await command(port, `SENTINEL CKQUORUM ${SENTINEL_MASTER}`, 0);
    const replicas = await command(port, `SENTINEL REPLICAS ${SENTINEL_MASTER}`);
    return (quorum?.includes('3 usable Sentinels') ?? false) && (replicas?.includes(String(this.replica.port)) ?? false);
  }

  /** The primary's port according to sentinel `index`, or undefined when it does not answer. */
  async primaryPort(index = 0): Promise<number | undefined> {
    const reply = await command(this.sentinels[index]?.port ?? 0, `SENTINEL GET-MASTER-ADDR-BY-NAME ${SENTINEL_MASTER}`);
    const port = /\r\n(\d+)\r\n$/.exec(reply ?? '')?.[1];
    return port === undefined ? undefined : Number(port);
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary, this.replica, ...this.sentinels].map((redis) => redis.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A stack whose REDIS_URL names a private sentinel group, both stopped in `t`'s teardown. */
export async function startStackOnSentinels(t: Test, options: Omit<StackOptions, 'redisUrl'>): Promise<{ stack: Stack; group: PrivateSentinelGroup }> {
  const group = await PrivateSentinelGroup.start(requireRedisServer());
  return { stack: await startStackOn(t, options, group), group };
}
