/**
 * The request target, normalised once per request (path.ts) and shared by the hooks that need
 * it: the CORS plugin (only for requests that carry an Origin) and the proxy route. Both read
 * `targetOf(request)`; whichever runs first normalises, the other reuses the result.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { normaliseTarget, type NormalisedTarget } from './path.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the first targetOf(request); null until then. */
    normalisedTarget: NormalisedTarget | null;
  }
}

export function targetOf(request: FastifyRequest): NormalisedTarget {
  return (request.normalisedTarget ??= normaliseTarget(request.url));
}

export const requestTargetPlugin = fp(
  async (app) => {
    app.decorateRequest('normalisedTarget', null);
  },
  { name: 'gateway-request-target', fastify: '5.x' },
);
