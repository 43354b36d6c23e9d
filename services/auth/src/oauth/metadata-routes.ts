/**
 * The RFC 8414 / OIDC discovery documents, rendered once at start-up; cached by clients as long as
 * the JWKS they point at (JWKS_MAX_AGE).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../http/route-options.js';
import { Metadata } from '../schemas/well-known.js';
import { oauthMetadata } from './metadata.js';

export const metadataRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx }) => {
  const cacheControl = `public, max-age=${ctx.config.jwksMaxAge}`;
  const metadata = JSON.stringify(oauthMetadata(ctx.config));
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    app.get(path, { schema: { response: { 200: Metadata } } }, async (_request, reply) => {
      return reply.header('cache-control', cacheControl).type('application/json; charset=utf-8').serializer((payload: unknown) => payload as string).send(metadata);
    });
  }
};
