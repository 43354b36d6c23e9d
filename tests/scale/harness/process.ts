/**
 * One real service instance: `node services/<name>/dist/main.js` with its environment, logs in a
 * file, started until /readyz answers 200, stopped by a signal with the exit code and drain time
 * reported. Restarting keeps the port and environment, as an orchestrator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, serviceCommand, type ServiceName } from './services.js';
import { sleep } from './timing.js';

/** Every child the harness started and that is still running: killed if the test process exits first. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Tracks `child` so an aborted test run (uncaught error, process.exit) leaves no orphan behind. */
export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const orphan of liveChildren) orphan.kill('SIGKILL');
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal to the exit. */
  ms: number;
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<ExitInfo> | undefined;
  private starts = 0;
  private signalledAt = 0;
  /** Exits nobody asked for (crashes, or a signal from outside the test), for the failure report. */
  readonly unexpectedExits: string[] = [];
  readonly logFile: string;

  constructor(
    readonly instanceName: string,
    readonly service: ServiceName,
    readonly port: number,
    readonly metricsPort: number,
    readonly env: Record<string, string>,
    logDir: string,
  ) {
    this.logFile = join(logDir, `${instanceName}.log`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The operations listener (GET /metrics). */
  get metricsUrl(): string {
    return `http://127.0.0.1:${this.metricsPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits until GET /readyz is 200 (or `ready: 'health'`: /healthz). */
  async start(options: { timeoutMs?: number; ready?: 'ready' | 'health' } = {}): Promise<void> {
    if (this.running) throw new Error(`${this.instanceName} is already running`);
    this.starts += 1;
    const log = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, serviceCommand(this.service).slice(1), {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.env },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    trackChild(child);
    this.child = child;
    this.signalledAt = 0;
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.signalledAt === 0)
          this.unexpectedExits.push(`${new Date().toISOString()} pid ${child.pid} exited by itself: code ${code}, signal ${signal}`);
        resolve({ code, signal, ms: this.signalledAt === 0 ? 0 : Date.now() - this.signalledAt });
      });
    });
    this.exitPromise = exited;
    const path = options.ready === 'health' ? '/healthz' : '/readyz';
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let early: ExitInfo | undefined;
    void exited.then((info) => {
      early = info;
    });
    while (Date.now() < deadline) {
      if (early)
        throw new Error(`${this.instanceName} exited during start-up (code ${early.code}, signal ${early.signal}):\n${this.logTail()}`);
      try {
        const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(
      `${this.instanceName} was not ready on ${this.url}${path} within ${options.timeoutMs ?? 30_000} ms:\n${this.logTail()}`,
    );
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<ExitInfo> {
    const child = this.child;
    const exited = this.exitPromise;
    if (!child || !exited) throw new Error(`${this.instanceName} was never started`);
    if (!this.running) return exited;
    this.signalledAt = Date.now();
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops (SIGTERM) if running and starts again on the same port with the same environment. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.start();
  }

  /** How many times this instance has been started. */
  get startCount(): number {
    return this.starts;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
