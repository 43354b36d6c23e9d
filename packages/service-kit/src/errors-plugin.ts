/**
 * Routes every error and unknown route through @keygate/errors' toWireError, so all services
 * answer in the contract's `{error, error_description}` format and never leak internals.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { toWireError } from '@keygate/errors';

/**
 * Logs and answers one error. Also fastify's `frameworkErrors` (create-app.ts): a URL that
 * cannot be decoded or an over-long route parameter is refused before any route or error
 * handler runs, and would otherwise get fastify's own `{"error":"Bad Request","code":…}` body.
 */
export function replyWithError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const wire = toWireError(error);
  if (wire.statusCode >= 500) {
    request.log.error({ err: error, status: wire.statusCode }, 'request failed');
  } else {
    request.log.info({ code: wire.body.error, status: wire.statusCode }, 'request rejected');
  }
  void reply.code(wire.statusCode).headers(wire.headers).send(wire.body);
}

export const errorsPlugin = fp(
  async (app) => {
    app.setErrorHandler(replyWithError);
    app.setNotFoundHandler((request, reply) => {
      void reply.code(404).send({ error: 'not_found', error_description: `No route for ${request.method} ${request.url.split('?')[0] ?? ''}.` });
    });
  },
  { name: 'keygate-errors', fastify: '5.x' },
);
