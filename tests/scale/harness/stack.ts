/**
 * A whole deployment on 127.0.0.1: nginx in front of 2 gateways, nginx's internal server in front
 * of 2 auth instances (the gateways' AUTH_URL), orders and notifications, sharing one fresh
 * PostgreSQL database and one Redis key prefix. Each test file starts its own stack, so files
 * can run in parallel and kill instances freely.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { createTestDatabase, type TestDatabase } from '@keygate/testing';
import { Nginx } from './nginx.js';
import { nginxBinary } from './prerequisites.js';
import { ServiceProcess } from './process.js';
import { REPO_ROOT, instanceEnv, type ServiceName, type SharedSettings } from './services.js';

export interface StackOptions {
  /** Names the temp directory and the Redis prefix. */
  name: string;
  /** Default: REDIS_URL (the machine's Redis). */
  redisUrl?: string;
  /** A DATABASE_URL per service instead of the stack's fresh database (outage tests). */
  databaseUrls?: Partial<Record<ServiceName, string>>;
  /** Extra settings per service. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Default warn; SCALE_LOG_LEVEL overrides for debugging. */
  logLevel?: string;
  /** Instances of orders and of notifications (default 1 each); auth and gateway always run 2. */
  ordersInstances?: number;
  notificationsInstances?: number;
}

/** `count` distinct free ports: every listener stays open until all are chosen, so none repeats. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((server) => {
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Stack {
  private constructor(
    readonly nginx: Nginx,
    readonly auth: readonly [ServiceProcess, ServiceProcess],
    readonly gateways: readonly [ServiceProcess, ServiceProcess],
    readonly orders: readonly ServiceProcess[],
    readonly notifications: readonly ServiceProcess[],
    readonly shared: SharedSettings,
    private readonly dir: string,
    private readonly database: TestDatabase,
  ) {}

  /** The public entry point (nginx). */
  get front(): string {
    return this.nginx.publicUrl;
  }

  get all(): ServiceProcess[] {
    return [...this.auth, ...this.gateways, ...this.orders, ...this.notifications];
  }

  static async start(options: StackOptions): Promise<Stack> {
    const binary = nginxBinary();
    if (!binary) throw new Error('nginx is not installed');
    const redisUrl = options.redisUrl ?? process.env.REDIS_URL;
    if (!redisUrl) throw new Error('REDIS_URL is required');
    const dir = mkdtempSync(join(tmpdir(), `keygate-scale-${options.name}-`));
    const database = await createTestDatabase();
    if (!database.url) throw new Error('DATABASE_URL is required');
    const ordersCount = options.ordersInstances ?? 1;
    const notificationsCount = options.notificationsInstances ?? 1;
    // Public ports, then one operations port (METRICS_PORT) per instance.
    const instanceCount = 4 + ordersCount + notificationsCount;
    const ports = await freePorts(4 + 2 * instanceCount);
    const take = (count: number) => ports.splice(0, count);
    const [publicPort, authLbPort, ordersLbPort, notificationsLbPort, auth1, auth2, gw1, gw2] = take(8) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const ordersPorts = take(ordersCount);
    const notificationsPorts = take(notificationsCount);
    const metricsPorts = take(instanceCount);
    const shared: SharedSettings = {
      databaseUrl: database.url,
      redisUrl,
      redisPrefix: `kgscale:${options.name}:${randomBytes(4).toString('hex')}:`,
      issuer: `http://127.0.0.1:${publicPort}`,
      gatewaySecret: randomBytes(32).toString('base64'),
      keyEncryptionKey: randomBytes(32).toString('base64'),
      logLevel: process.env.SCALE_LOG_LEVEL ?? options.logLevel ?? 'warn',
      // The gateways reach every service through nginx's internal servers, as deployed.
      authUrl: `http://127.0.0.1:${authLbPort}`,
      ordersUrl: `http://127.0.0.1:${ordersLbPort}`,
      notificationsUrl: `http://127.0.0.1:${notificationsLbPort}`,
    };
    const logDir = join(dir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const make = (service: ServiceName, instanceName: string, port: number): ServiceProcess => {
      const dataDir = join(dir, 'data', instanceName);
      mkdirSync(dataDir, { recursive: true });
      const databaseUrl = options.databaseUrls?.[service];
      const extra = { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...options.env?.[service] };
      const metricsPort = metricsPorts.shift()!;
      return new ServiceProcess(instanceName, service, port, metricsPort, instanceEnv(shared, { service, instanceName, port, metricsPort, dataDir, extra }), logDir);
    };
    const auth = [make('auth', 'auth-1', auth1), make('auth', 'auth-2', auth2)] as const;
    const gateways = [make('gateway', 'gateway-1', gw1), make('gateway', 'gateway-2', gw2)] as const;
    const orders = ordersPorts.map((port, index) => make('orders', `orders-${index + 1}`, port));
    const notifications = notificationsPorts.map((port, index) => make('notifications', `notifications-${index + 1}`, port));
    let nginx: Nginx | undefined;
    try {
      nginx = await Nginx.start({
        binary,
        prefix: join(dir, 'nginx'),
        publicPort,
        gateways: [gw1, gw2],
        internal: {
          auth: { port: authLbPort, instances: [auth1, auth2] },
          orders: { port: ordersLbPort, instances: ordersPorts },
          notifications: { port: notificationsLbPort, instances: notificationsPorts },
        },
      });
      // Both auth instances start together: migrations and the first signing key must not race.
      await Promise.all(auth.map((instance) => instance.start()));
      // Gateways are ready once they hold the JWKS, fetched through nginx's auth server.
      await Promise.all([...gateways, ...orders, ...notifications].map((instance) => instance.start()));
      return new Stack(nginx, auth, gateways, orders, notifications, shared, dir, database);
    } catch (error) {
      await Promise.allSettled(
        [...auth, ...gateways, ...orders, ...notifications].map((instance) => (instance.running ? instance.stop('SIGKILL') : undefined)),
      );
      await nginx?.stop();
      await database.drop().catch(() => {});
      if (!process.env.KEEP_SCALE_DIRS) rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The auth CLI (`node services/auth/dist/cli.js …`) with auth-1's environment. */
  authCli(args: string[]): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['services/auth/dist/cli.js', ...args],
        { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.auth[0].env }, timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** Log tails of every instance and nginx's error log, for a failing test. */
  diagnostics(): string {
    const parts = this.all.map(
      (instance) =>
        `--- ${instance.instanceName} (${instance.running ? 'running' : 'stopped'})\n${[...instance.unexpectedExits, instance.logTail(20)].join('\n')}`,
    );
    parts.push(`--- nginx error.log\n${this.nginx.errorLog().split('\n').slice(-20).join('\n')}`);
    return parts.join('\n');
  }

  /** Instances that exited without being told to (a crash, or a signal from outside the test). */
  unexpectedExits(): string[] {
    return this.all.flatMap((instance) => instance.unexpectedExits.map((line) => `${instance.instanceName}: ${line}`));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.all.map((instance) => (instance.running ? instance.stop('SIGTERM', 15_000) : undefined)));
    await this.nginx.stop();
    await this.database.drop().catch(() => {});
    if (process.env.KEEP_SCALE_DIRS) process.stderr.write(`# kept ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a stack for test `t`, stopped (with diagnostics printed if `t` failed) in its teardown. */
export async function startStack(t: Test, options: StackOptions): Promise<Stack> {
  const stack = await Stack.start(options);
  t.teardown(async () => {
    if (!t.passing()) process.stderr.write(`${stack.diagnostics()}\n`);
    await stack.stop();
  });
  return stack;
}
