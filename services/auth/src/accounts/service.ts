/**
 * Users: registration, password login (equal time whether or not the email exists), password
 * change, admin changes and the first admin. `authenticatePassword` is what an /oauth/token
 * `password` grant reuses.
 */
import type { AuthContext, RequestMeta } from '../context.js';
import { AuthErrors } from '../errors.js';
import { forgetEmailInAudit, recordAudit } from '../audit/service.js';
import { forgetMailTo } from '../mail/service.js';
import type { Db, UserRow } from '../db/schema.js';
import { revokeUserSessionsIn } from '../sessions/service.js';
import { adminExists, deleteUserRow, findUserByEmail, findUserById, insertUser, lockUser, setPasswordHash, updateUser } from './repository.js';
import { normalizeEmail } from './emails.js';
import { queueVerificationIn } from './email-verification.js';
import { publishSessionRevocations, recordDeletedAccountSessions, type PublishContext } from '../revocations/service.js';

/** A user by id, for the other features and the CLI (which never read the users table themselves). */
export function findUser(db: Db, id: string): Promise<UserRow | undefined> {
  return findUserById(db, id);
}

/** A user by email as typed (normalised here). */
export function findUserByEmailAddress(db: Db, email: string): Promise<UserRow | undefined> {
  return findUserByEmail(db, normalizeEmail(email));
}

/** Creates the account and queues its verification mail, in one transaction. */
export async function registerUser(ctx: Pick<AuthContext, 'db' | 'passwords' | 'config'> & Pick<Partial<AuthContext>, 'mail' | 'metrics'>, email: string, password: string, meta: RequestMeta): Promise<UserRow> {
  const normalized = normalizeEmail(email);
  // Hash before looking: a taken email costs the same time as a free one.
  const passwordHash = await ctx.passwords.hash(password);
  const user = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertUser(trx, { email: normalized, password_hash: passwordHash, role: 'user' });
    if (!inserted) throw AuthErrors.emailTaken();
    await recordAudit(trx, { event: 'user_registered', userId: inserted.id, ip: meta.ip, userAgent: meta.userAgent });
    await queueVerificationIn(trx, ctx.config, inserted, meta);
    return inserted;
  });
  ctx.metrics?.accountEmails.inc({ event: 'verification_sent' });
  ctx.mail?.wake();
  return user;
}

/**
 * The user if email and password match an enabled account, else undefined. Always runs exactly
 * one argon2id verification (against a dummy hash for an unknown email), so the answer and its
 * timing do not reveal whether the email exists. Writes login_failure audit rows.
 */
export async function authenticatePassword(ctx: Pick<AuthContext, 'db' | 'passwords'>, email: string, password: string, meta: RequestMeta): Promise<UserRow | undefined> {
  const user = await findUserByEmail(ctx.db, normalizeEmail(email));
  const valid = await ctx.passwords.verify(user?.password_hash ?? (await ctx.passwords.dummyHash()), password);
  if (user && valid && !user.disabled) return user;
  await recordAudit(ctx.db, {
    event: 'login_failure',
    userId: user?.id ?? null,
    ip: meta.ip,
    userAgent: meta.userAgent,
    details: { reason: !user ? 'unknown_email' : user.disabled && valid ? 'disabled' : 'wrong_password' },
  });
  return undefined;
}

/** Changes the password and revokes every other session of the user. */
export async function changePassword(ctx: Pick<AuthContext, 'db' | 'passwords'> & PublishContext, userId: string, currentSessionId: string | undefined, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<void> {
  const user = await findUserById(ctx.db, userId);
  if (!user || !(await ctx.passwords.verify(user.password_hash, currentPassword))) throw AuthErrors.wrongCurrentPassword();
  // currentPassword matches the stored hash, so the new one equals the current password exactly
  // when it equals currentPassword: no second argon2 verify needed.
  if (newPassword === currentPassword) throw AuthErrors.passwordReused();
  const newHash = await ctx.passwords.hash(newPassword);
  const revoked = await ctx.db.transaction().execute(async (trx) => {
    const locked = await lockUser(trx, userId);
    // The hash changed between our check and the lock: a concurrent change won; make the caller retry.
    if (!locked || locked.password_hash !== user.password_hash) throw AuthErrors.wrongCurrentPassword();
    await setPasswordHash(trx, userId, newHash);
    const ids = await revokeUserSessionsIn(trx, userId, 'password_change', currentSessionId);
    await recordAudit(trx, { event: 'password_change', userId, sessionId: currentSessionId ?? null, ip: meta.ip, userAgent: meta.userAgent, details: { revoked_sessions: ids.length } });
    return ids;
  });
  await publishSessionRevocations(ctx, revoked);
}

/** Admin change of role and/or disabled; either change revokes all of the user's sessions. */
export async function adminUpdateUser(ctx: Pick<AuthContext, 'db'> & PublishContext, actorId: string, userId: string, changes: { role?: 'user' | 'admin'; disabled?: boolean }, meta: RequestMeta): Promise<UserRow> {
  // An admin demoting or disabling themselves could leave nobody able to undo it.
  if (actorId === userId && (changes.role === 'user' || changes.disabled === true)) throw AuthErrors.selfLockout();
  const { user, revoked } = await ctx.db.transaction().execute(async (trx) => {
    const before = await lockUser(trx, userId);
    if (!before) throw AuthErrors.userNotFound();
    const after = (await updateUser(trx, userId, changes))!;
    const roleChanged = before.role !== after.role;
    const disabledNow = after.disabled && !before.disabled;
    const ids = roleChanged || disabledNow ? await revokeUserSessionsIn(trx, userId, disabledNow ? 'user_disabled' : 'role_change') : [];
    await recordAudit(trx, {
      event: 'admin_user_change',
      userId,
      ip: meta.ip,
      userAgent: meta.userAgent,
      details: { actor: actorId, role: { from: before.role, to: after.role }, disabled: { from: before.disabled, to: after.disabled }, revoked_sessions: ids.length },
    });
    return { user: after, revoked: ids };
  });
  await publishSessionRevocations(ctx, revoked);
  return user;
}

/**
 * Deletes an account (DELETE /auth/me with the password, or `authctl users delete` without):
 * every session revoked and announced to the gateways, the user row and everything of theirs in
 * this service's database removed with it (sessions, refresh tokens, authorization codes, consents, second
 * factor, recovery codes, pending two-step logins), the audit rows kept without the email, plus
 * an `account_deleted` row. The sessions' revocations are kept apart from the deleted session
 * rows so that a gateway that missed the message still learns of them (re-announcer,
 * GET /internal/revocations). Orders and notifications are the other services' data: see
 * docs/decisions-auth.md, "Account deletion".
 */
export async function deleteAccount(
  ctx: Pick<AuthContext, 'db' | 'passwords' | 'metrics'> & PublishContext,
  userId: string,
  proof: { password: string } | { by: 'authctl' },
  meta: RequestMeta,
): Promise<void> {
  const user = await findUserById(ctx.db, userId);
  if (!user) throw AuthErrors.userNotFound();
  if ('password' in proof && !(await ctx.passwords.verify(user.password_hash, proof.password))) throw AuthErrors.wrongCurrentPassword('The password is wrong.');
  const by = 'password' in proof ? 'user' : 'authctl';
  const revoked = await ctx.db.transaction().execute(async (trx) => {
    const locked = await lockUser(trx, userId);
    if (!locked) throw AuthErrors.userNotFound();
    // The last admin cannot delete themselves: nobody would be left to administer the service.
    if (locked.role === 'admin' && !(await adminExists(trx, userId))) throw AuthErrors.selfLockout('The last admin account cannot be deleted.');
    const ids = await revokeUserSessionsIn(trx, userId, 'account_deleted');
    await recordDeletedAccountSessions(trx, ctx.config, userId);
    await forgetEmailInAudit(trx, userId);
    await forgetMailTo(trx, locked.email);
    await deleteUserRow(trx, userId);
    await recordAudit(trx, { event: 'account_deleted', userId, ip: meta.ip, userAgent: meta.userAgent, details: { by, revoked_sessions: ids.length } });
    return ids;
  });
  ctx.metrics.accountsDeleted.inc({ by });
  await publishSessionRevocations(ctx, revoked);
}

export type AdminCreation = 'created' | 'promoted' | 'already_admin' | 'taken_by_user';

/**
 * Creates an admin (the CLI's `admin create`). An existing account with that email is promoted
 * only when `promoteExisting` (an operator's explicit choice); never at start-up, where a
 * self-registered account with the configured email would otherwise become admin.
 */
export async function createAdmin(ctx: Pick<AuthContext, 'db' | 'passwords'>, email: string, password: string, options: { promoteExisting: boolean }): Promise<AdminCreation> {
  const normalized = normalizeEmail(email);
  const passwordHash = await ctx.passwords.hash(password);
  const inserted = await insertUser(ctx.db, { email: normalized, password_hash: passwordHash, role: 'admin' });
  if (inserted) {
    await recordAudit(ctx.db, { event: 'admin_bootstrap', userId: inserted.id, details: { how: 'created' } });
    return 'created';
  }
  const existing = (await findUserByEmail(ctx.db, normalized))!;
  if (existing.role === 'admin') return 'already_admin';
  if (!options.promoteExisting) return 'taken_by_user';
  await updateUser(ctx.db, existing.id, { role: 'admin' });
  await setPasswordHash(ctx.db, existing.id, passwordHash);
  await recordAudit(ctx.db, { event: 'admin_bootstrap', userId: existing.id, details: { how: 'promoted' } });
  return 'promoted';
}

/** ADMIN_EMAIL/ADMIN_PASSWORD at start-up: creates the first admin when no admin exists. */
export async function bootstrapAdmin(ctx: Pick<AuthContext, 'db' | 'log' | 'passwords'>, email: string, password: string): Promise<void> {
  if (await adminExists(ctx.db)) return;
  const outcome = await createAdmin(ctx, email, password, { promoteExisting: false });
  if (outcome === 'already_admin') return;
  if (outcome === 'taken_by_user') ctx.log.warn({}, 'ADMIN_EMAIL belongs to an existing non-admin account: no admin created (use authctl admin create --promote)');
  else ctx.log.info({}, 'created the first admin from ADMIN_EMAIL');
}
