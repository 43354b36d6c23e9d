/**
 * OpenAPI 3 generated from the route schemas (@fastify/swagger), served at GET /openapi.json.
 * Every service registers it through createServiceApp; the gateway shows them together at /docs.
 * Routes whose schema says `hide: true` (health, internal) are left out; metrics are not on this listener at all.
 */
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';

export interface OpenApiOptions {
  service: string;
  description?: string;
}

export const openApiPlugin = fp<OpenApiOptions>(
  async (app, options) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: `keygate ${options.service}`,
          version: '0.1.0',
          ...(options.description ? { description: options.description } : {}),
        },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RFC 9068 at+jwt)' },
          },
        },
      },
    });
    const logLevel = app.log.level === 'silent' ? 'silent' : 'warn';
    app.get('/openapi.json', { schema: { hide: true } as Record<string, unknown>, logLevel }, async () => app.swagger());
  },
  { name: 'keygate-openapi', fastify: '5.x' },
);
