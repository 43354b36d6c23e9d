/**
 * The /oauth/* endpoints in their own encapsulated scope: only here are form bodies parsed
 * (@fastify/formbody) and JSON bodies refused (RFC 6749 wants application/x-www-form-urlencoded),
 * so the JSON /auth/* routes keep answering 415 to form bodies.
 */
import formbody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../http/route-options.js';
import { authorizeRoutes } from './authorize.js';
import { logoutRoutes } from './logout-routes.js';
import { tokenRoutes } from './token-routes.js';
import { userinfoRoutes } from './userinfo-routes.js';

export const oauthPlugin: FastifyPluginAsync<RouteOptions> = async (app, options) => {
  app.removeContentTypeParser('application/json');
  await app.register(formbody);
  await app.register(tokenRoutes, options);
  await app.register(authorizeRoutes, options);
  await app.register(userinfoRoutes, options);
  await app.register(logoutRoutes, options);
};
