/**
 * Debian's nginx in front of the instances, as a non-daemon child: `nginx -c <conf> -p <prefix>`.
 * The http-level configuration is infra/nginx/keygate.conf.template rendered by
 * infra/nginx/render.mjs (what operators and docker-compose use); only the process-level wrapper
 * (pid, error log, temp paths in a private prefix) is the harness's own. Instances are taken out
 * of rotation as operators do it: re-render with `--down`, reload, wait for the old workers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { renderKeygateConf, type InternalService } from '../../../infra/nginx/render.mjs';
import { trackChild } from './process.js';
import { sleep } from './timing.js';

export interface NginxOptions {
  binary: string;
  /** A directory of its own (made world-readable: nginx workers run as nobody under root). */
  prefix: string;
  publicPort: number;
  gateways: readonly number[];
  /** The internal server of each service behind the gateways: its port and its instances' ports. */
  internal: Record<InternalService, { port: number; instances: readonly number[] }>;
  /** nginx's fail_timeout for every upstream (render.mjs's default when unset). */
  failTimeoutSeconds?: number;
}

/** The process wrapper around the rendered template; everything lives under `prefix`. */
export function mainConf(prefix: string): string {
  return [
    'worker_processes 1;',
    'daemon off;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  client_body_temp_path ${join(prefix, 'client_body')};`,
    `  proxy_temp_path ${join(prefix, 'proxy')};`,
    `  fastcgi_temp_path ${join(prefix, 'fastcgi')};`,
    `  uwsgi_temp_path ${join(prefix, 'uwsgi')};`,
    `  scgi_temp_path ${join(prefix, 'scgi')};`,
    `  include ${join(prefix, 'keygate.conf')};`,
    '}',
    '',
  ].join('\n');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `host:port` of an instance as nginx lists it. */
function address(port: number): string {
  return `127.0.0.1:${port}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface ReloadInfo {
  /** From the reload signal until every worker with the previous configuration had exited. */
  ms: number;
}

export class Nginx {
  /** Instances (ports) currently marked `down`: drained before a planned stop. */
  private readonly down = new Set<number>();
  /** Reloads run one at a time, each rendering the `down` set as it is then. */
  private reloads: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcess,
    readonly options: NginxOptions,
    private readonly exited: Promise<void>,
  ) {}

  get publicUrl(): string {
    return `http://127.0.0.1:${this.options.publicPort}`;
  }

  /** The internal server balancing `service`: the gateways' AUTH_URL, ORDERS_URL, … */
  internalUrl(service: InternalService): string {
    const server = this.options.internal[service];
    if (!server) throw new Error(`nginx has no internal server for ${service}`);
    return `http://127.0.0.1:${server.port}`;
  }

  static async start(options: NginxOptions): Promise<Nginx> {
    mkdirSync(options.prefix, { recursive: true });
    chmodSync(options.prefix, 0o755);
    writeFileSync(join(options.prefix, 'keygate.conf'), Nginx.render(options, new Set()));
    const confPath = join(options.prefix, 'nginx.conf');
    writeFileSync(confPath, mainConf(options.prefix));
    const child = spawn(options.binary, ['-c', confPath, '-p', `${options.prefix}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    trackChild(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let gone = false;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        gone = true;
        resolve();
      });
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (gone) throw new Error(`nginx exited at start: ${stderr}${Nginx.readErrorLog(options.prefix)}`);
      const ports = [options.publicPort, ...Object.values(options.internal).map((entry) => entry.port)];
      if ((await Promise.all(ports.map(portOpen))).every(Boolean)) return new Nginx(child, options, exited);
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error(`nginx did not listen within 10 s: ${stderr}${Nginx.readErrorLog(options.prefix)}`);
  }

  /** The http-level configuration for `options` with the instances in `down` drained. */
  private static render(options: NginxOptions, down: ReadonlySet<number>): string {
    return renderKeygateConf({
      publicListen: address(options.publicPort),
      gateways: options.gateways.map(address),
      internal: (Object.entries(options.internal) as [InternalService, { port: number; instances: readonly number[] }][]).map(
        ([name, entry]) => ({ name, listen: address(entry.port), servers: entry.instances.map(address) }),
      ),
      accessLog: join(options.prefix, 'access.log'),
      down: [...down].map(address),
      ...(options.failTimeoutSeconds === undefined ? {} : { failTimeoutSeconds: options.failTimeoutSeconds }),
    });
  }

  /** The worker processes of the nginx master (worker_processes 1: the new one, plus old ones still finishing). */
  private workers(): number[] {
    const pid = this.child.pid;
    if (pid === undefined) return [];
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter((item) => item !== '')
        .map(Number);
    } catch {
      return [];
    }
  }

  /**
   * Takes the instance on `port` out of rotation (`down`), or puts it back, and waits until the
   * change is in force: the procedure of docs/operations.md, "Stopping and restarting instances".
   */
  drain(port: number): Promise<ReloadInfo> {
    return this.setDown(port, true);
  }

  undrain(port: number): Promise<ReloadInfo> {
    return this.setDown(port, false);
  }

  private setDown(port: number, down: boolean): Promise<ReloadInfo> {
    const next = this.reloads.then(() => {
      if (down) this.down.add(port);
      else this.down.delete(port);
      return this.reload();
    });
    this.reloads = next.catch(() => {});
    return next;
  }

  /**
   * Re-renders keygate.conf and sends SIGHUP (what `nginx -s reload` sends), then waits until no
   * worker with the previous configuration is left. Only then is nothing new routed by the old
   * configuration: old workers keep serving (and may retry onto any instance) until their
   * in-flight requests are done, and the master starts the new workers only after parsing.
   */
  private async reload(): Promise<ReloadInfo> {
    writeFileSync(join(this.options.prefix, 'keygate.conf'), Nginx.render(this.options, this.down));
    const previous = this.workers();
    const started = Date.now();
    this.child.kill('SIGHUP');
    const deadline = started + 15_000;
    while (Date.now() < deadline) {
      const current = this.workers();
      if (current.length > 0 && current.every((pid) => !previous.includes(pid)) && previous.every((pid) => !alive(pid)))
        return { ms: Date.now() - started };
      await sleep(20);
    }
    throw new Error(`nginx did not finish reloading within 15 s:\n${this.errorLog().split('\n').slice(-10).join('\n')}`);
  }

  private static readErrorLog(prefix: string): string {
    try {
      return readFileSync(join(prefix, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Access log lines (format `keygate` of the template: upstream address and status per try). */
  accessLog(): string[] {
    try {
      return readFileSync(join(this.options.prefix, 'access.log'), 'utf8')
        .split('\n')
        .filter((line) => line !== '');
    } catch {
      return [];
    }
  }

  errorLog(): string {
    return Nginx.readErrorLog(this.options.prefix);
  }

  /** SIGQUIT: graceful stop, like `nginx -s quit`. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGQUIT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
