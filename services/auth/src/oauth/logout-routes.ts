/**
 * GET and POST /oauth/logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3): ends the session the
 * `id_token_hint` names, then redirects to a registered `post_logout_redirect_uri` (with `state`),
 * or shows a plain "signed out" page. A bad hint or an unregistered redirect URI gets an error page
 * and ends nothing.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestMeta } from '../http/authenticate.js';
import type { RouteOptions } from '../http/route-options.js';
import { ErrorBody } from '../schemas/auth.js';
import { Empty, Html, LogoutParams } from '../schemas/oauth.js';
import { HtmlOrError, htmlHeaders } from './authorize.js';
import { endPlannedSession, planLogout } from './logout.js';
import { errorPage, signedOutPage } from './login-page.js';

type LogoutInput = { id_token_hint?: string; client_id?: string; post_logout_redirect_uri?: string; state?: string };

export const logoutRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx }) => {
  const handle = async (params: LogoutInput, request: Parameters<typeof requestMeta>[0], reply: Parameters<typeof htmlHeaders>[0]) => {
    const nonEmpty = (value: string | undefined) => (value === '' ? undefined : value);
    const plan = await planLogout(ctx, {
      idTokenHint: nonEmpty(params.id_token_hint),
      clientId: nonEmpty(params.client_id),
      postLogoutRedirectUri: nonEmpty(params.post_logout_redirect_uri),
    });
    if (!plan.ok) return htmlHeaders(reply).code(400).send(errorPage(plan.message));
    if (await endPlannedSession(ctx, plan, requestMeta(request))) request.log.info({ sessionId: plan.sessionId }, 'rp-initiated logout');
    if (plan.redirectUri === undefined) return htmlHeaders(reply).send(signedOutPage());
    const target = new URL(plan.redirectUri);
    if (params.state !== undefined) target.searchParams.append('state', params.state);
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(target.href, 303);
  };
  const response = { 200: Html, 303: Empty, 400: HtmlOrError, 415: ErrorBody };
  app.get('/oauth/logout', { schema: { querystring: LogoutParams, response } }, async (request, reply) => handle(request.query, request, reply));
  app.post('/oauth/logout', { schema: { body: LogoutParams, response } }, async (request, reply) => handle(request.body, request, reply));
};
