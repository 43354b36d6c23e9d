/**
 * GET /auth/consents and DELETE /auth/consents/{client_id} (Bearer, scope `account`): the caller's
 * remembered approvals of third-party clients, and withdrawing one (which also revokes that
 * client's sessions of the caller). Rate limited like the other account endpoints: by the
 * gateway's per-user and per-IP limits (RATE_LIMIT_USER, RATE_LIMIT_PUBLIC_PER_IP).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ACCOUNT_SCOPE } from '@keygate/tokens';
import { callerOf, requestMeta, requireBearer } from '../http/authenticate.js';
import { AuthErrors } from '../errors.js';
import type { RouteOptions } from '../http/route-options.js';
import { ConsentView, ErrorBody, NoQuery } from '../schemas/auth.js';
import { consentsOf, withdrawConsent } from './service.js';

const ClientIdParams = Type.Object({ client_id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,100}$' }) }, { additionalProperties: false });

export const consentRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx }) => {
  const bearer = requireBearer(ctx, { scope: ACCOUNT_SCOPE });

  app.get('/auth/consents', {
    schema: { querystring: NoQuery, response: { 200: Type.Array(ConsentView), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } },
    preHandler: bearer,
  }, async (request) => {
    const rows = await consentsOf(ctx.db, callerOf(request).user.id);
    return rows.map((row) => ({ client_id: row.client_id, client_name: row.client_name, scopes: row.scopes, granted_at: row.granted_at.toISOString(), updated_at: row.updated_at.toISOString() }));
  });

  app.delete('/auth/consents/:client_id', {
    schema: { querystring: NoQuery, params: ClientIdParams, response: { 204: { type: 'null' }, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
    preHandler: bearer,
  }, async (request, reply) => {
    const caller = callerOf(request);
    if (!(await withdrawConsent(ctx, caller.user.id, request.params.client_id, requestMeta(request)))) throw AuthErrors.consentNotFound();
    request.log.info({ userId: caller.user.id, clientId: request.params.client_id }, 'consent withdrawn');
    return reply.code(204).send();
  });
};
