/**
 * Password reset. POST /auth/password-reset answers 202 before it looks the email up: the lookup,
 * the token and the mail happen after the answer (resetRequests), so the answer's time cannot say
 * whether the account exists. The token (PASSWORD_RESET_TTL, 30 min by default) is spent by
 * POST /auth/password-reset/confirm, which sets the new password (argon2id through the bounded
 * hash queue) and revokes every session of the user, announced to the gateways like any
 * revocation.
 */
import type { AuthContext, RequestMeta } from '../context.js';
import { AuthErrors } from '../errors.js';
import { recordAudit } from '../audit/service.js';
import { queueMail } from '../mail/service.js';
import { passwordResetMail } from '../mail/messages.js';
import { publishSessionRevocations, type PublishContext } from '../revocations/service.js';
import { revokeUserSessionsIn } from '../sessions/service.js';
import { issueAccountToken, liveAccountTokenUser, spendLiveAccountToken } from './account-tokens.js';
import { spendUserAccountTokens } from './account-tokens.repository.js';
import { normalizeEmail } from './emails.js';
import { findUserByEmail, lockUser, setEmailVerified, setPasswordHash } from './repository.js';

type ResetContext = Pick<AuthContext, 'db' | 'config' | 'metrics' | 'passwords'> & Pick<Partial<AuthContext>, 'mail'> & PublishContext;

/** The work behind a 202: a token and its mail for an enabled account, an audit row either way. */
export async function requestPasswordReset(ctx: Omit<ResetContext, 'passwords'>, email: string, meta: RequestMeta): Promise<void> {
  const user = await findUserByEmail(ctx.db, normalizeEmail(email));
  if (!user || user.disabled) {
    await recordAudit(ctx.db, { event: 'password_reset_requested', userId: user?.id ?? null, ip: meta.ip, userAgent: meta.userAgent, details: { sent: false, reason: user ? 'disabled' : 'unknown_email' } });
    ctx.metrics.accountEmails.inc({ event: 'reset_unknown_account' });
    return;
  }
  await ctx.db.transaction().execute(async (trx) => {
    const token = await issueAccountToken(trx, user.id, 'password_reset', ctx.config.passwordResetTtl);
    await queueMail(trx, passwordResetMail(ctx.config, user.email, token));
    await recordAudit(trx, { event: 'password_reset_requested', userId: user.id, ip: meta.ip, userAgent: meta.userAgent, details: { sent: true } });
  });
  ctx.metrics.accountEmails.inc({ event: 'reset_requested' });
  ctx.mail?.wake();
}

/**
 * Sets the new password and revokes every session of the user. The token is checked before the
 * hash (an unknown token costs no argon2 time) and spent in the transaction that changes the
 * password (of two concurrent confirms one wins). `limitAccount` counts the attempt against the
 * token's user before the hash runs.
 */
export async function confirmPasswordReset(ctx: ResetContext, token: string, newPassword: string, meta: RequestMeta, limitAccount: (userId: string) => Promise<void>): Promise<string> {
  let userId: string;
  try {
    userId = await liveAccountTokenUser(ctx.db, token, 'password_reset');
  } catch (error) {
    ctx.metrics.accountEmails.inc({ event: 'reset_invalid_token' });
    throw error;
  }
  await limitAccount(userId);
  const newHash = await ctx.passwords.hash(newPassword);
  const revoked = await ctx.db.transaction().execute(async (trx) => {
    if ((await spendLiveAccountToken(trx, token, 'password_reset')) !== userId) throw AuthErrors.invalidAccountToken();
    const user = await lockUser(trx, userId);
    if (!user) throw AuthErrors.invalidAccountToken();
    await setPasswordHash(trx, userId, newHash);
    // Every other reset link of the user dies with this one.
    await spendUserAccountTokens(trx, userId, 'password_reset');
    // The link arrived at the address: that proves it as well as a verification link would.
    await setEmailVerified(trx, userId);
    const ids = await revokeUserSessionsIn(trx, userId, 'password_reset');
    await recordAudit(trx, { event: 'password_reset_completed', userId, ip: meta.ip, userAgent: meta.userAgent, details: { revoked_sessions: ids.length } });
    return ids;
  });
  ctx.metrics.accountEmails.inc({ event: 'reset_completed' });
  await publishSessionRevocations(ctx, revoked);
  return userId;
}

/**
 * Reset requests waiting to be worked on after their 202: at most `max` per instance (beyond it a
 * request gets 503 at once, whatever the email), and the app's close waits for them.
 */
export class ResetRequests {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly ctx: Omit<ResetContext, 'passwords'>, private readonly max: number) {}

  /** False when full: the caller answers 503. */
  submit(email: string, meta: RequestMeta): boolean {
    if (this.pending.size >= this.max) return false;
    // After the answer is written (setImmediate runs after this tick's I/O): the lookup's work,
    // even on an embedded database in this process, cannot delay the 202.
    const work: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => requestPasswordReset(this.ctx, email, meta))
      .catch((err: unknown) => this.ctx.log.error({ err }, 'password reset request failed'))
      .finally(() => this.pending.delete(work));
    this.pending.add(work);
    return true;
  }

  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
