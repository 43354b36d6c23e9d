/**
 * Debian's nginx in front of the instances, as a non-daemon child: `nginx -c <conf> -p <prefix>`.
 * The http-level configuration is infra/nginx/keygate.conf.template rendered by
 * infra/nginx/render.mjs (what operators and docker-compose use); only the process-level wrapper
 * (pid, error log, temp paths in a private prefix) is the harness's own.
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

export class Nginx {
  private constructor(
    private readonly child: ChildProcess,
    readonly options: NginxOptions,
    private readonly exited: Promise<void>,
  ) {}

  get publicUrl(): string {
    return `http://127.0.0.1:${this.options.publicPort}`;
  }

  /** The internal server balancing `service`: the gateways' AUTH_URL / ORDERS_URL / NOTIFICATIONS_URL. */
  internalUrl(service: InternalService): string {
    return `http://127.0.0.1:${this.options.internal[service].port}`;
  }

  static async start(options: NginxOptions): Promise<Nginx> {
    mkdirSync(options.prefix, { recursive: true });
    chmodSync(options.prefix, 0o755);
    const keygateConf = renderKeygateConf({
      publicListen: `127.0.0.1:${options.publicPort}`,
      gateways: options.gateways.map((port) => `127.0.0.1:${port}`),
      internal: (Object.entries(options.internal) as [InternalService, { port: number; instances: readonly number[] }][]).map(
        ([name, entry]) => ({
          name,
          listen: `127.0.0.1:${entry.port}`,
          servers: entry.instances.map((port) => `127.0.0.1:${port}`),
        }),
      ),
      accessLog: join(options.prefix, 'access.log'),
    });
    writeFileSync(join(options.prefix, 'keygate.conf'), keygateConf);
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
