/**
 * POST /oauth/token (RFC 6749), /oauth/revoke (RFC 7009) and /oauth/introspect (RFC 7662), all
 * form-encoded and client-authenticated, all answered with Cache-Control: no-store.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '@keygate/errors';
import { requestMeta } from '../http/authenticate.js';
import type { RouteOptions } from '../http/route-options.js';
import { noStore } from '../http/no-store.js';
import { ErrorBody } from '../schemas/auth.js';
import { Empty, IntrospectionResponse, TokenParams, TokenRequestParams, TokenResponse } from '../schemas/oauth.js';
import { looksLikeRefreshToken } from '../sessions/refresh-token-values.js';
import { authenticateClient } from './client-auth.js';
import { OAuthErrors } from './errors.js';
import { GRANTS, grantEnabled } from './grants/index.js';
import { introspectAccessToken, introspectRefreshToken, verifiedAccessToken } from './introspection.js';
import { revokeClientToken } from './revocation.js';

export const tokenRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx, loginLimiter }) => {
  // Every answer of these endpoints, errors included, is never cached (RFC 6749 §5.1, RFC 7009, RFC 7662 §4).
  app.addHook('onRequest', async (_request, reply) => noStore(reply));

  app.post('/oauth/token', {
    schema: { body: TokenParams, response: { 200: TokenResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 415: ErrorBody, 429: ErrorBody, 503: ErrorBody } },
  }, async (request) => {
    const params = request.body;
    const grant = GRANTS.get(params.grant_type);
    // Unknown grant names are one label, so a client cannot grow the metric without bound.
    const grantLabel = grant ? params.grant_type : 'unknown';
    try {
      const { client } = await authenticateClient(ctx, request, params);
      if (!grant || !grantEnabled(params.grant_type, ctx.config)) throw OAuthErrors.unsupportedGrantType();
      if (!client.grant_types.includes(params.grant_type)) throw OAuthErrors.unauthorizedClient();
      const response = await grant({ ctx, client, params, request, loginLimiter });
      ctx.metrics.oauthTokens.inc({ grant: grantLabel, outcome: 'issued' });
      return response;
    } catch (error) {
      ctx.metrics.oauthTokens.inc({ grant: grantLabel, outcome: error instanceof AppError ? error.code : 'error' });
      throw error;
    }
  });

  app.post('/oauth/revoke', {
    schema: { body: TokenRequestParams, response: { 200: Empty, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody } },
  }, async (request, reply) => {
    const { client } = await authenticateClient(ctx, request, request.body);
    // RFC 7009 §2.2: an unknown, invalid, expired or foreign token is answered 200 all the same.
    await revokeClientToken(ctx, client.id, request.body.token, requestMeta(request));
    // An empty 200 (RFC 7009 §2.2: the client ignores the body); undefined sends no body at all.
    return reply.code(200).send(undefined as unknown as null);
  });

  app.post('/oauth/introspect', {
    schema: { body: TokenRequestParams, response: { 200: IntrospectionResponse, 400: ErrorBody, 401: ErrorBody, 415: ErrorBody } },
  }, async (request) => {
    const { client } = await authenticateClient(ctx, request, request.body);
    // RFC 7662 §2.1: the caller must be authenticated; a public client (client_id alone) is not.
    if (client.public) throw OAuthErrors.invalidClient('Introspection needs a confidential client.');
    const { token } = request.body;
    if (looksLikeRefreshToken(token)) return introspectRefreshToken(ctx, token, client.id);
    const payload = await verifiedAccessToken(ctx, token);
    return payload ? introspectAccessToken(ctx, payload, client) : { active: false };
  });
};
