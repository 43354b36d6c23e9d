/**
 * The one way a service process starts and stops: listen, then on SIGTERM/SIGINT report not
 * ready (GET /readyz 503) while still serving for the drain delay, so a balancer that probes
 * readiness, or an endpoint list being updated, stops routing here before the listener closes;
 * then stop taking new connections without resetting any already queued (listener-close.ts; 503 on
 * kept-alive ones), let in-flight requests finish, close
 * plugins (pools, Redis, the operations listener) and exit 0; exit 1 if draining exceeds the
 * timeout. Used by every services/<name>/src/main.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { closeListenerWhenQueueEmpty } from './listener-close.js';

/** How long the listener may wait for its accept queue to be empty before closing anyway. */
const ACCEPT_QUEUE_WAIT_MS = 1_000;

export interface ListenOptions {
  host: string;
  port: number;
  /** The operations listener (GET /metrics): METRICS_HOST and METRICS_PORT. */
  metricsHost: string;
  metricsPort: number;
}

export interface RunOptions extends ListenOptions {
  /** How long in-flight requests may take to finish once the listener is closed (then exit 1). */
  shutdownTimeoutMs: number;
  /**
   * How long to keep serving normally after SIGTERM, /readyz already 503, before closing the
   * listener (SHUTDOWN_DRAIN_DELAY_MS). Closing a listener resets the connections waiting in
   * its accept queue, and a balancer cannot know whether such a request was processed, so it
   * must have stopped sending first. Default 0: nothing balances a development instance.
   */
  drainDelayMs?: number;
  /** Called once listening, e.g. to print where the service is. */
  onListening?: (address: string, metricsAddress: string) => void;
}

/**
 * Opens the public listener and the operations listener (closed with the app). The one place
 * both are opened, for each service's main.ts (through runService) and the embedded stack.
 */
export async function listenService(app: FastifyInstance, options: ListenOptions): Promise<{ url: string; metricsUrl: string }> {
  const url = await app.listen({ host: options.host, port: options.port });
  const metricsUrl = await app.metrics.listen({ host: options.metricsHost, port: options.metricsPort });
  app.log.info({ url: metricsUrl }, 'operations listener (GET /metrics) listening');
  return { url, metricsUrl };
}

export async function runService(app: FastifyInstance, options: RunOptions): Promise<void> {
  const drainDelayMs = options.drainDelayMs ?? 0;
  closeWithGrace({ delay: drainDelayMs + options.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) {
      // A crash: nothing is served reliably any more, so no drain delay.
      app.log.error({ err }, 'shutting down after an error');
      await app.close();
      return;
    }
    app.stopServing();
    // Every response from now on says Connection: close, so a keep-alive client that reaches this
    // instance directly (a gateway's pool behind a Kubernetes Service) moves to a new connection
    // elsewhere, instead of meeting the idle-close at app.close() while it is sending.
    app.server.prependListener('request', (_request, response) => {
      response.setHeader('connection', 'close');
    });
    if (drainDelayMs > 0) {
      app.log.info({ signal, drainDelayMs }, 'shutting down: not ready, still serving during the drain delay');
      await sleep(drainDelayMs);
    }
    // The listener closes at an instant its accept queue is empty (listener-close.ts): closing it
    // resets what waits there, a request the balancer has sent and may not resend if it is a POST.
    const closed = await closeListenerWhenQueueEmpty(app.server, ACCEPT_QUEUE_WAIT_MS);
    // Closing on a queue that never emptied within the bound reset what waited there: a warning.
    app.log[closed.queueEmpty || closed.mostQueued === 0 ? 'info' : 'warn']({ signal, listener: closed }, 'shutting down: listener closed, draining in-flight requests');
    await app.close();
  });
  const { url, metricsUrl } = await listenService(app, options);
  options.onListening?.(url, metricsUrl);
}

/** The settings every service's config carries for runService. */
export interface ServiceProcessConfig {
  host: string;
  port: number;
  metricsHost: string;
  metricsPort: number;
  shutdownTimeoutMs: number;
  shutdownDrainDelayMs: number;
}

/**
 * A service's whole main.ts: settings from `env` (warnings to stderr), build, listen, drain on
 * SIGTERM; any start-up problem is one line on stderr and exit 1. `env` is passed in because only
 * a process entry point reads process.env.
 */
export async function runServiceProcess<C extends ServiceProcessConfig>(
  env: Readonly<Record<string, string | undefined>>,
  loadConfig: (env: Readonly<Record<string, string | undefined>>, warn: (message: string) => void) => C,
  build: (config: C) => Promise<FastifyInstance>,
): Promise<void> {
  try {
    const config = loadConfig(env, (message) => process.stderr.write(`warning: ${message}\n`));
    const app = await build(config);
    await runService(app, {
      host: config.host,
      port: config.port,
      metricsHost: config.metricsHost,
      metricsPort: config.metricsPort,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      drainDelayMs: config.shutdownDrainDelayMs,
    });
  } catch (error) {
    exitOnStartupError(error);
  }
}

/** Prints a start-up problem as one line and exits, as the contract asks for invalid settings. */
export function exitOnStartupError(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
