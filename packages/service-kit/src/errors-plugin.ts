/**
 * Routes every error and unknown route through @keygate/errors' toWireError, so all services
 * answer in the contract's `{error, error_description}` format and never leak internals.
 */
import fp from 'fastify-plugin';
import { toWireError } from '@keygate/errors';

export const errorsPlugin = fp(
  async (app) => {
    app.setErrorHandler((error, request, reply) => {
      const wire = toWireError(error);
      if (wire.statusCode >= 500) {
        request.log.error({ err: error, status: wire.statusCode }, 'request failed');
      } else {
        request.log.info({ code: wire.body.error, status: wire.statusCode }, 'request rejected');
      }
      void reply.code(wire.statusCode).headers(wire.headers).send(wire.body);
    });
    app.setNotFoundHandler((request, reply) => {
      void reply.code(404).send({ error: 'not_found', error_description: `No route for ${request.method} ${request.url.split('?')[0] ?? ''}.` });
    });
  },
  { name: 'keygate-errors', fastify: '5.x' },
);
