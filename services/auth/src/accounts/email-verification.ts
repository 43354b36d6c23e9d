/**
 * Email verification: registration queues a mail with a single-use token (EMAIL_VERIFICATION_TTL,
 * 24 h by default); POST /auth/verify-email spends it and marks the address proven. A signed-in
 * user may ask for another mail (rate limited per user). REQUIRE_VERIFIED_EMAIL=true refuses
 * password sign-ins of unproven addresses (assertMayLogIn).
 */
import type { AuthContext, RequestMeta } from '../context.js';
import { AuthErrors } from '../errors.js';
import { recordAudit } from '../audit/service.js';
import type { Db, UserRow } from '../db/schema.js';
import { queueMail } from '../mail/service.js';
import { verificationMail } from '../mail/messages.js';
import { issueAccountToken, spendLiveAccountToken } from './account-tokens.js';
import { spendUserAccountTokens } from './account-tokens.repository.js';
import { lockUser, setEmailVerified } from './repository.js';

type VerificationContext = Pick<AuthContext, 'db' | 'config' | 'metrics'> & Pick<Partial<AuthContext>, 'mail'>;

/** Inside the caller's transaction: a token and its mail commit with the change (a registration). */
export async function queueVerificationIn(trx: Db, config: AuthContext['config'], user: Pick<UserRow, 'id' | 'email'>, meta: RequestMeta): Promise<void> {
  const token = await issueAccountToken(trx, user.id, 'verify_email', config.emailVerificationTtl);
  await queueMail(trx, verificationMail(config, user.email, token));
  await recordAudit(trx, { event: 'email_verification_sent', userId: user.id, ip: meta.ip, userAgent: meta.userAgent });
}

export async function confirmEmailVerification(ctx: VerificationContext, token: string, meta: RequestMeta): Promise<string> {
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const userId = await spendLiveAccountToken(trx, token, 'verify_email');
      await setEmailVerified(trx, userId);
      // Any other verification link of the user (a resend) is spent with it.
      await spendUserAccountTokens(trx, userId, 'verify_email');
      await recordAudit(trx, { event: 'email_verification_confirmed', userId, ip: meta.ip, userAgent: meta.userAgent });
      ctx.metrics.accountEmails.inc({ event: 'verification_confirmed' });
      return userId;
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'invalid_token') ctx.metrics.accountEmails.inc({ event: 'verification_invalid_token' });
    throw error;
  }
}

/** Queues another verification mail for a signed-in user; 409 already_verified once proven. */
export async function resendVerification(ctx: VerificationContext, userId: string, meta: RequestMeta): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const user = await lockUser(trx, userId);
    if (!user) throw AuthErrors.userNotFound();
    if (user.email_verified_at !== null) throw AuthErrors.alreadyVerified();
    await queueVerificationIn(trx, ctx.config, user, meta);
  });
  ctx.metrics.accountEmails.inc({ event: 'verification_sent' });
  ctx.mail?.wake();
}

/** REQUIRE_VERIFIED_EMAIL: password sign-ins (login, the password grant) of unproven addresses get 403 email_not_verified. */
export function assertMayLogIn(config: Pick<AuthContext['config'], 'requireVerifiedEmail'>, user: Pick<UserRow, 'email_verified_at'>): void {
  if (config.requireVerifiedEmail && user.email_verified_at === null) throw AuthErrors.emailNotVerified();
}
