/**
 * GET /docs: Swagger UI over the OpenAPI documents the services generate from their route
 * schemas. The gateway fetches each upstream's /openapi.json (cached for a minute, so a
 * redeployed service shows its new routes soon after) and serves it under /docs/specs/<name>;
 * the UI offers them in one place, and "Try it out" goes through the gateway like any client.
 */
import fp from 'fastify-plugin';
import swaggerUi from '@fastify/swagger-ui';
import { GatewayErrors } from '../errors.js';

export interface DocsOptions {
  /** name → base URL of a service whose /openapi.json is shown. */
  services: Record<string, string>;
  fetch?: typeof fetch;
}

const CACHE_MS = 60_000;

export const docsPlugin = fp<DocsOptions>(
  async (app, options) => {
    const doFetch = options.fetch ?? fetch;
    const cache = new Map<string, { at: number; body: unknown }>();
    const names = Object.keys(options.services);
    const logLevel = app.log.level === 'silent' ? 'silent' : 'info';

    app.get<{ Params: { name: string } }>(
      '/docs/specs/:name',
      { schema: { hide: true, params: { type: 'object', properties: { name: { type: 'string', pattern: '^[a-z-]+\\.json$' } }, required: ['name'] } } as Record<string, unknown>, logLevel },
      async (request) => {
        const name = request.params.name.replace(/\.json$/, '');
        const base = options.services[name];
        if (base === undefined) throw GatewayErrors.notFound(`No API document named ${name}.`);
        const cached = cache.get(name);
        if (cached && Date.now() - cached.at < CACHE_MS) return cached.body;
        let response: Response;
        try {
          response = await doFetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(5_000) });
        } catch {
          if (cached) return cached.body;
          throw GatewayErrors.badGateway();
        }
        if (!response.ok) {
          if (cached) return cached.body;
          throw GatewayErrors.badGateway();
        }
        const body = (await response.json()) as Record<string, unknown>;
        // "Try it out" must go through the gateway, never straight to the service.
        const document = { ...body, servers: [{ url: '/' }] };
        cache.set(name, { at: Date.now(), body: document });
        return document;
      },
    );

    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      uiConfig: {
        urls: names.map((name) => ({ name, url: `/docs/specs/${name}.json` })),
        'urls.primaryName': names[0],
        deepLinking: true,
      } as Record<string, unknown>,
      logLevel: logLevel as 'info',
    });
  },
  { name: 'gateway-docs', fastify: '5.x' },
);
