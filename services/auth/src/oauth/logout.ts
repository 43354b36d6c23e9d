/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): what an `id_token_hint` ends, and
 * where the browser may go afterwards. The hint must be an ID token this issuer signed (expired is
 * fine); the session it names (`sid`) is ended only if it is still the hint's user's session with
 * the hint's client, and the revocation goes to every gateway like any other. A
 * `post_logout_redirect_uri` must exactly equal one the client registered (no open redirect); the
 * client is the hint's audience, or `client_id` when there is no hint.
 */
import { verifyIdTokenHint } from '@keygate/tokens';
import type { AuthContext, RequestMeta } from '../context.js';
import { recordAudit } from '../audit/service.js';
import { revokeSession, sessionById, type RevokeContext } from '../sessions/service.js';
import { findClient } from './clients.js';
import { issuerId } from './issuer.js';

export interface LogoutRequest {
  idTokenHint?: string | undefined;
  clientId?: string | undefined;
  postLogoutRedirectUri?: string | undefined;
}

export type LogoutPlan = { ok: true; sessionId: string | undefined; userId: string | undefined; redirectUri: string | undefined } | { ok: false; message: string };

/** Checks a logout request and finds what it ends; nothing changes yet. */
export async function planLogout(ctx: Pick<AuthContext, 'db' | 'config' | 'keys'>, request: LogoutRequest): Promise<LogoutPlan> {
  const hint = request.idTokenHint === undefined ? undefined : await verifyIdTokenHint(ctx.keys, request.idTokenHint, issuerId(ctx.config));
  if (request.idTokenHint !== undefined && !hint) return { ok: false, message: 'The id_token_hint is not an ID token of this service.' };
  if (hint && request.clientId !== undefined && hint.aud !== request.clientId) return { ok: false, message: 'The id_token_hint was issued to another application than client_id.' };
  const clientId = hint?.aud ?? request.clientId;
  let redirectUri: string | undefined;
  if (request.postLogoutRedirectUri !== undefined) {
    const client = clientId === undefined ? undefined : await findClient(ctx.db, clientId);
    if (!client) return { ok: false, message: 'A post_logout_redirect_uri needs the id_token_hint or client_id of a registered application.' };
    if (!client.post_logout_redirect_uris.includes(request.postLogoutRedirectUri)) return { ok: false, message: 'The post_logout_redirect_uri is not registered for this application.' };
    redirectUri = request.postLogoutRedirectUri;
  }
  let sessionId: string | undefined;
  if (hint?.sid !== undefined) {
    const session = await sessionById(ctx.db, hint.sid);
    if (session && session.user_id === hint.sub && session.client_id === hint.aud) sessionId = session.id;
  }
  return { ok: true, sessionId, userId: hint?.sub, redirectUri };
}

/** Ends the planned session (if live) with its audit row; false when there was nothing to end. */
export async function endPlannedSession(ctx: RevokeContext, plan: { sessionId: string | undefined; userId: string | undefined }, meta: RequestMeta): Promise<boolean> {
  if (plan.sessionId === undefined || !(await revokeSession(ctx, plan.sessionId, 'rp_logout'))) return false;
  await recordAudit(ctx.db, { event: 'rp_logout', userId: plan.userId, sessionId: plan.sessionId, ip: meta.ip, userAgent: meta.userAgent });
  return true;
}
