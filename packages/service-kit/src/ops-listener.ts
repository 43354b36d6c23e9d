/**
 * The operations listener: `GET /metrics` (Prometheus text) on an address and port of its own,
 * never on the public listener. Metrics name token rejection reasons, revocation lag, queue depths
 * and memory: useful to an attacker probing the limits, so they are reachable only where the
 * operator binds this listener (loopback by default, a private network in containers), and the
 * gateway, nginx and the ingress never route to it. A plain node:http server rather than a second
 * fastify app: one route, and none of the public app's hooks (rate limits, the gateway proof,
 * the request histogram) must apply to a scrape.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommonErrors, toWireError } from '@keygate/errors';
import type { Registry } from 'prom-client';
import { answerClientError } from './client-error.js';
import { ServiceKitErrors } from './errors.js';

interface OpsLog {
  debug(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

export interface OpsListener {
  /** Binds the listener; resolves to its base URL (e.g. `http://127.0.0.1:9080`). Port 0 takes a free port. */
  listen(options: { host: string; port: number }): Promise<string>;
  /** The base URL once listening. */
  readonly url: string | undefined;
  /** Stops accepting scrapes; a scrape in flight finishes. Does nothing when never opened. */
  close(): Promise<void>;
}

function send(response: ServerResponse, error: unknown): void {
  const wire = toWireError(error);
  const body = JSON.stringify(wire.body);
  response.writeHead(wire.statusCode, { ...wire.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export function createOpsListener(registry: Registry, log: OpsLog): OpsListener {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path !== '/metrics') return send(response, CommonErrors.notFound(`No route for ${request.method ?? ''} ${path}.`));
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, ServiceKitErrors.metricsMethodNotAllowed(request.method ?? ''));
    try {
      const text = await registry.metrics();
      response.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : text);
    } catch (error) {
      log.error({ err: error }, 'collecting metrics failed');
      send(response, error);
    }
  };
  const server = createServer((request, response) => void handle(request, response));
  server.on('clientError', (error: Error & { code?: string }, socket) => answerClientError(error, socket, log));
  let url: string | undefined;

  return {
    get url() {
      return url;
    },
    async listen({ host, port }) {
      if (server.listening) throw new Error(`the operations listener is already listening at ${url}`);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      url = urlOf(server.address() as AddressInfo);
      return url;
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      // Prometheus keeps its connection alive between scrapes; an idle one must not hold the close.
      server.closeIdleConnections();
      await closed;
      url = undefined;
    },
  };
}
