/**
 * GET /.well-known/jwks.json: public keys only; Cache-Control public max-age (JWKS_MAX_AGE); strong
 * ETag; 304 on If-None-Match.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Jwks } from '../schemas/well-known.js';
import type { RouteOptions } from '../http/route-options.js';

/** RFC 9110 §13.1.2: If-None-Match uses weak comparison; `*` matches any current representation. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((candidate) => {
    const value = candidate.trim();
    return value === '*' || value.replace(/^W\//, '') === opaque;
  });
}

export const jwksRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx }) => {
  const cacheControl = `public, max-age=${ctx.config.jwksMaxAge}`;

  app.get('/.well-known/jwks.json', {
    schema: { response: { 200: Jwks, 304: { type: 'null' } } },
  }, async (request, reply) => {
    const { body, etag } = ctx.keys.jwks();
    void reply.header('cache-control', cacheControl).header('etag', etag);
    if (ifNoneMatchHits(request.headers['if-none-match'], etag)) return reply.code(304).send();
    // Sent as the exact bytes the ETag was computed over.
    return reply.type('application/json; charset=utf-8').serializer((payload: unknown) => payload as string).send(body);
  });

};
