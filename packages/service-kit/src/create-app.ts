/**
 * The fastify instance every service starts from: JSON logs with a service name and request id,
 * strict schema validation (no coercion, no silently dropped properties), a 16 KiB body limit,
 * the contract's error body even for requests the HTTP parser refuses, and the error, health and
 * metrics plugins already registered (metrics on the operations listener, never on this one).
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { loggerOptions } from '@keygate/logger';
import { answerClientError } from './client-error.js';
import { errorsPlugin, replyWithError } from './errors-plugin.js';
import { healthPlugin, type ReadinessCheck } from './health-plugin.js';
import { metricsPlugin } from './metrics-plugin.js';
import { openApiPlugin } from './openapi-plugin.js';

export interface ServiceAppOptions {
  service: string;
  logLevel: string;
  /** Checks run by GET /readyz; a rejection makes it answer 503. */
  readiness?: Record<string, ReadinessCheck>;
  bodyLimit?: number;
  /** Whether to take the request id from an incoming X-Request-ID (true behind the gateway). */
  trustRequestId?: boolean;
  /** fastify's trustProxy: which peers may set X-Forwarded-For. */
  trustProxy?: FastifyServerOptions['trustProxy'];
  /** One sentence for the OpenAPI document's description. */
  description?: string;
  /** Extra fastify options (e.g. a custom router for the gateway). */
  fastify?: Partial<FastifyServerOptions>;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export async function createServiceApp(options: ServiceAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(options.service, options.logLevel),
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    trustProxy: options.trustProxy ?? false,
    // A client-chosen id is only taken when it is well-formed, so it cannot inject log noise.
    requestIdHeader: false,
    genReqId(request) {
      const incoming = request.headers['x-request-id'];
      if (options.trustRequestId && typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming)) return incoming;
      return randomUUID();
    },
    return503OnClosing: true,
    // Requests refused before routing (an undecodable URL, an over-long parameter) and by Node's
    // HTTP parser (a malformed request line or header, oversized headers) get the contract's body.
    frameworkErrors: replyWithError,
    clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Duplex) {
      // fastify binds the handler to the instance, whose logger exists by the time a request does.
      answerClientError(error, socket, this.log);
    },
    forceCloseConnections: 'idle',
    ajv: {
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
        allErrors: false,
      },
    },
    ...options.fastify,
  });
  // JSON only (services add form parsing where the contract asks for it): any other body is 415.
  app.removeContentTypeParser('text/plain');
  await app.register(errorsPlugin);
  // Before any route, so every route declared later lands in the document.
  await app.register(openApiPlugin, { service: options.service, ...(options.description ? { description: options.description } : {}) });
  await app.register(metricsPlugin, { service: options.service });
  await app.register(healthPlugin, { checks: options.readiness ?? {} });
  // Callback-style hooks: an async one costs a promise and a microtask on every response.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  return app;
}
