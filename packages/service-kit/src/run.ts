/**
 * The one way a service process starts and stops: listen, then on SIGTERM/SIGINT stop taking
 * new requests (503 while closing), let in-flight ones finish, close plugins (pools, Redis) and
 * exit 0; exit 1 if draining exceeds the timeout. Used by every services/<name>/src/server.ts.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

export interface RunOptions {
  host: string;
  port: number;
  shutdownTimeoutMs: number;
  /** Called once listening, e.g. to print where the service is. */
  onListening?: (address: string) => void;
}

export async function runService(app: FastifyInstance, options: RunOptions): Promise<void> {
  closeWithGrace({ delay: options.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down: draining in-flight requests');
    await app.close();
  });
  const address = await app.listen({ host: options.host, port: options.port });
  options.onListening?.(address);
}

/** Prints a start-up problem as one line and exits, as the contract asks for invalid settings. */
export function exitOnStartupError(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
