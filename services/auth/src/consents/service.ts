/**
 * Consents (contract, "Browsers and OpenID Connect"): a third-party client is shown the consent
 * page after sign-in unless the user already approved at least the scopes it asks for now; the
 * approval is remembered per user and client (the union of what was approved). Withdrawing one
 * deletes it and revokes every session that client holds for the user, announced to the gateways
 * like every revocation, so its access tokens stop working within a second.
 */
import type { AuthContext, RequestMeta } from '../context.js';
import type { Db } from '../db/schema.js';
import { recordAudit } from '../audit/service.js';
import { publishSessionRevocations } from '../revocations/service.js';
import { revokeUserClientSessionsIn, type RevokeContext } from '../sessions/service.js';
import { deleteConsent, findConsent, listConsentRows, upsertConsent, type ConsentWithClient } from './repository.js';

/** True when the user already approved every scope in `scopes` for the client. */
export async function consentCovers(db: Db, userId: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
  const row = await findConsent(db, userId, clientId);
  return row !== undefined && scopes.every((scope) => row.scopes.includes(scope));
}

export async function grantConsent(ctx: Pick<AuthContext, 'db'>, userId: string, clientId: string, scopes: readonly string[], meta: RequestMeta): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    await upsertConsent(trx, userId, clientId, scopes);
    await recordAudit(trx, { event: 'consent_granted', userId, ip: meta.ip, userAgent: meta.userAgent, details: { client_id: clientId, scopes } });
  });
}

export function consentsOf(db: Db, userId: string): Promise<ConsentWithClient[]> {
  return listConsentRows(db, userId);
}

/** Withdraws a consent and revokes the client's sessions of the user; false when there was none. */
export async function withdrawConsent(ctx: RevokeContext, userId: string, clientId: string, meta: RequestMeta): Promise<boolean> {
  const revoked = await ctx.db.transaction().execute(async (trx) => {
    if (!(await deleteConsent(trx, userId, clientId))) return undefined;
    const sessions = await revokeUserClientSessionsIn(trx, userId, clientId, 'consent_withdrawn');
    await recordAudit(trx, { event: 'consent_withdrawn', userId, ip: meta.ip, userAgent: meta.userAgent, details: { client_id: clientId, revoked_sessions: sessions.length } });
    return sessions;
  });
  if (revoked === undefined) return false;
  await publishSessionRevocations(ctx, revoked);
  return true;
}
