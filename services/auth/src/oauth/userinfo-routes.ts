/**
 * GET and POST /oauth/userinfo (OpenID Connect Core 1.0 §5.3): the Bearer access token's user,
 * for a token whose scope holds `openid` (403 insufficient_scope otherwise, RFC 6750 §3.1): `sub`,
 * and `email`, `email_verified` with scope `email`. The token must come in the Authorization
 * header (as at the gateway: never in a query or body). Same verification as every Bearer route
 * here (revoked sessions refused at once). Answers are never cached.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { scopeSet } from '@keygate/tokens';
import { callerOf, requireBearer } from '../http/authenticate.js';
import { noStore } from '../http/no-store.js';
import type { RouteOptions } from '../http/route-options.js';
import { ErrorBody } from '../schemas/auth.js';
import { EMAIL_SCOPE, OPENID_SCOPE } from './id-tokens.js';

const UserInfo = Type.Object(
  { sub: Type.String(), email: Type.Optional(Type.String()), email_verified: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const userinfoRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx }) => {
  const bearer = requireBearer(ctx, { scope: OPENID_SCOPE });
  const schema = { response: { 200: UserInfo, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 415: ErrorBody } };
  app.addHook('onRequest', async (_request, reply) => noStore(reply));
  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: '/oauth/userinfo',
      schema,
      preHandler: bearer,
      handler: async (request) => {
        const { user, token } = callerOf(request);
        const email = scopeSet(token.scope).has(EMAIL_SCOPE) ? { email: user.email, email_verified: user.email_verified_at !== null } : {};
        return { sub: user.id, ...email };
      },
    });
  }
};
