/**
 * A whole deployment on 127.0.0.1, as the services manifest (services.json) lists it: nginx in
 * front of the gateways, and nginx's internal server of each service behind them (the gateways'
 * AUTH_URL, ORDERS_URL, …) in front of that service's instances (the manifest's replicas: 2 auth,
 * 2 gateways, 1 of the rest), sharing one fresh PostgreSQL database and one Redis key prefix. Each
 * test file starts its own stack, so files can run in parallel and kill instances freely.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { createTestDatabase, freePorts, type TestDatabase } from '@keygate/testing';
import { Nginx } from './nginx.js';
import { nginxBinary } from './prerequisites.js';
import { ServiceProcess } from './process.js';
import { MANIFEST, REPO_ROOT, instanceEnv, type ServiceName, type SharedSettings } from './services.js';

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
  /** Instances per service (default: its manifest replicas); auth and the gateway need 2 at least. */
  instances?: Partial<Record<ServiceName, number>>;
}

/** The two instances of a service the tests play against each other (kill one, use the other). */
function pair(instances: readonly ServiceProcess[] | undefined, service: string): readonly [ServiceProcess, ServiceProcess] {
  if (!instances || instances.length < 2) throw new Error(`the scale stack needs 2 ${service} instances at least`);
  return instances as unknown as readonly [ServiceProcess, ServiceProcess];
}


export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Stack {
  private constructor(
    readonly nginx: Nginx,
    /** Each manifest service's instances, in manifest order. */
    private readonly byService: ReadonlyMap<ServiceName, readonly ServiceProcess[]>,
    readonly shared: SharedSettings,
    private readonly dir: string,
    private readonly database: TestDatabase,
  ) {}

  /** The public entry point (nginx). */
  get front(): string {
    return this.nginx.publicUrl;
  }

  instancesOf(service: ServiceName): readonly ServiceProcess[] {
    return this.byService.get(service) ?? [];
  }

  get auth(): readonly [ServiceProcess, ServiceProcess] {
    return pair(this.byService.get('auth'), 'auth');
  }

  get gateways(): readonly [ServiceProcess, ServiceProcess] {
    return pair(this.byService.get('gateway'), 'gateway');
  }

  get all(): ServiceProcess[] {
    return [...this.byService.values()].flat();
  }

  static async start(options: StackOptions): Promise<Stack> {
    const binary = nginxBinary();
    if (!binary) throw new Error('nginx is not installed');
    const redisUrl = options.redisUrl ?? process.env.REDIS_URL;
    if (!redisUrl) throw new Error('REDIS_URL is required');
    const counts = new Map(MANIFEST.map((service) => [service.name, options.instances?.[service.name] ?? service.replicas]));
    for (const service of ['auth', 'gateway']) if ((counts.get(service) ?? 0) < 2) throw new Error(`the scale stack needs 2 ${service} instances at least`);
    const routed = MANIFEST.filter((service) => service.upstreamSetting !== undefined);
    const dir = mkdtempSync(join(tmpdir(), `keygate-scale-${options.name}-`));
    const database = await createTestDatabase();
    if (!database.url) throw new Error('DATABASE_URL is required');
    // The public port, an internal server port per service behind the gateways, then a public and
    // an operations port (METRICS_PORT) per instance.
    const instanceCount = [...counts.values()].reduce((sum, count) => sum + count, 0);
    const ports = await freePorts(1 + routed.length + 2 * instanceCount);
    const publicPort = ports.shift()!;
    const lbPorts = new Map(routed.map((service) => [service.name, ports.shift()!]));
    const shared: SharedSettings = {
      databaseUrl: database.url,
      redisUrl,
      redisPrefix: `kgscale:${options.name}:${randomBytes(4).toString('hex')}:`,
      issuer: `http://127.0.0.1:${publicPort}`,
      gatewaySecret: randomBytes(32).toString('base64'),
      keyEncryptionKey: randomBytes(32).toString('base64'),
      logLevel: process.env.SCALE_LOG_LEVEL ?? options.logLevel ?? 'warn',
      // The gateways reach every service through nginx's internal servers, as deployed.
      upstreams: Object.fromEntries(routed.map((service) => [service.upstreamSetting, `http://127.0.0.1:${lbPorts.get(service.name)}`])),
    };
    const logDir = join(dir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const make = (service: ServiceName, instanceName: string): ServiceProcess => {
      const dataDir = join(dir, 'data', instanceName);
      mkdirSync(dataDir, { recursive: true });
      const databaseUrl = options.databaseUrls?.[service];
      const extra = { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...options.env?.[service] };
      const port = ports.shift()!;
      const metricsPort = ports.shift()!;
      return new ServiceProcess(instanceName, service, port, metricsPort, instanceEnv(shared, { service, instanceName, port, metricsPort, dataDir, extra }), logDir);
    };
    const byService = new Map(
      MANIFEST.map((service) => [service.name, Array.from({ length: counts.get(service.name)! }, (_, index) => make(service.name, `${service.name}-${index + 1}`))]),
    );
    const all = [...byService.values()].flat();
    const portsOf = (service: ServiceName) => (byService.get(service) ?? []).map((instance) => instance.port);
    let nginx: Nginx | undefined;
    try {
      nginx = await Nginx.start({
        binary,
        prefix: join(dir, 'nginx'),
        publicPort,
        gateways: portsOf('gateway'),
        internal: Object.fromEntries(routed.map((service) => [service.name, { port: lbPorts.get(service.name)!, instances: portsOf(service.name) }])),
      });
      // The manifest's first service (auth) first, its instances together: migrations and the
      // first signing key must not race, and the gateways are ready once they hold its JWKS.
      const [first, ...rest] = [...byService.values()];
      await Promise.all((first ?? []).map((instance) => instance.start()));
      await Promise.all(rest.flat().map((instance) => instance.start()));
      return new Stack(nginx, byService, shared, dir, database);
    } catch (error) {
      await Promise.allSettled(all.map((instance) => (instance.running ? instance.stop('SIGKILL') : undefined)));
      await nginx?.stop();
      await database.drop().catch(() => {});
      if (!process.env.KEEP_SCALE_DIRS) rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** A query on the stack's database (every service's schema is there), on a connection of its own. */
  query<Row extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<Row[]> {
    return this.database.query<Row>(text, values);
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
