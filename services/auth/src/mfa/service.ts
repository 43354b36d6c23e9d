/**
 * The TOTP second factor (contract, "Accounts"): enrolment in two steps (a pending secret, then a
 * code proving the app has it), ten single-use recovery codes, the second step of a login, and
 * removal (by the user with their password, or by support through authctl). Each code is accepted
 * once: the last accepted time step is stored and an equal or earlier one is refused.
 *
 * The secret is sealed (AES-256-GCM) under a key derived from KEY_ENCRYPTION_KEY for this purpose
 * only, bound to the user id, as the signing keys' private parts are.
 */
import { createHash, randomBytes } from 'node:crypto';
import { deriveKey, openSecret, sealSecret } from '@keygate/tokens';
import type { AuthContext, RequestMeta } from '../context.js';
import type { Db, UserRow } from '../db/schema.js';
import { AuthErrors } from '../errors.js';
import { recordAudit } from '../audit/service.js';
import { generateRecoveryCode, generateTotpSecret, matchingTotpStep, normalizeRecoveryCode, qrSvg, totpSecretText, totpUri } from './totp.js';
import {
  acceptStep,
  countUnusedRecoveryCodes,
  deleteMfa,
  findLiveLoginToken,
  findTotp,
  hasConfirmedTotp,
  insertLoginToken,
  purgeLoginTokens,
  replaceRecoveryCodes,
  spendLoginToken,
  spendRecoveryCode,
  upsertPendingTotp,
} from './repository.js';

const SECRET_PURPOSE = 'totp-secret';
const RECOVERY_CODES = 10;
/** The contract's lifetime of the first step of a two-step login. */
export const MFA_TOKEN_TTL_SECONDS = 300;
const MFA_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const secretKeys = new WeakMap<AuthContext['config'], Buffer>();
function secretKey(config: AuthContext['config']): Buffer {
  let key = secretKeys.get(config);
  if (!key) {
    key = deriveKey(config.keyEncryptionKey, SECRET_PURPOSE);
    secretKeys.set(config, key);
  }
  return key;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
const aad = (userId: string) => `totp:${userId}`;

export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

/** Whether `userId` has a confirmed second factor (login then asks for a code). */
export function mfaEnabled(db: Db, userId: string): Promise<boolean> {
  return hasConfirmedTotp(db, userId);
}

/**
 * A new pending TOTP secret for the user (replacing an unconfirmed one); 409 when a factor is
 * already confirmed (remove it first: replacing it silently would let a stolen access token lock
 * the owner out).
 */
export async function startTotpEnrolment(ctx: Pick<AuthContext, 'db' | 'config'>, user: Pick<UserRow, 'id' | 'email'>): Promise<TotpEnrolment> {
  const secret = generateTotpSecret();
  const sealed = sealSecret(secret, secretKey(ctx.config), aad(user.id));
  if (!(await upsertPendingTotp(ctx.db, user.id, sealed))) throw AuthErrors.mfaAlreadyEnabled();
  const uri = totpUri(secret, user.email);
  return { secret: totpSecretText(secret), otpauth_uri: uri, qr_svg: await qrSvg(uri) };
}

type CodeCheck = 'totp' | 'recovery_code' | undefined;

/** Checks `code` (a TOTP code or a recovery code) against the user's confirmed factor and spends it. */
async function spendCode(db: Db, config: AuthContext['config'], userId: string, code: string): Promise<CodeCheck> {
  const compact = code.replace(/\s/g, '');
  const totp = await findTotp(db, userId);
  if (!totp || totp.confirmed_at === null) return undefined;
  const step = matchingTotpStep(openSecret(totp.secret_sealed, secretKey(config), aad(userId)), compact, Date.now());
  if (step !== undefined) return (await acceptStep(db, userId, step, { confirm: false })) ? 'totp' : undefined;
  const recovery = normalizeRecoveryCode(code);
  if (recovery !== undefined && (await spendRecoveryCode(db, userId, sha256(recovery)))) return 'recovery_code';
  return undefined;
}

async function codeFailed(ctx: Pick<AuthContext, 'db' | 'metrics'>, userId: string, stage: 'enrolment' | 'login', meta: RequestMeta): Promise<never> {
  ctx.metrics.mfa.inc({ event: 'failed' });
  await recordAudit(ctx.db, { event: 'mfa_failed', userId, ip: meta.ip, userAgent: meta.userAgent, details: { stage } });
  throw AuthErrors.invalidCode();
}

/**
 * Confirms the pending factor with a code from the app and returns ten new recovery codes (shown
 * once; only their SHA-256 is stored). 409 without a pending enrolment, 401 invalid_code for a
 * wrong (or replayed) code.
 */
export async function confirmTotpEnrolment(ctx: Pick<AuthContext, 'db' | 'config' | 'metrics'>, userId: string, code: string, meta: RequestMeta): Promise<string[]> {
  const totp = await findTotp(ctx.db, userId);
  if (!totp || totp.confirmed_at !== null) throw AuthErrors.mfaNotPending();
  const step = matchingTotpStep(openSecret(totp.secret_sealed, secretKey(ctx.config), aad(userId)), code.replace(/\s/g, ''), Date.now());
  const codes = Array.from({ length: RECOVERY_CODES }, generateRecoveryCode);
  const confirmed =
    step !== undefined &&
    (await ctx.db.transaction().execute(async (trx) => {
      if (!(await acceptStep(trx, userId, step, { confirm: true }))) return false;
      await replaceRecoveryCodes(trx, userId, codes.map((c) => sha256(c.replace(/-/g, ''))));
      await recordAudit(trx, { event: 'mfa_enrolled', userId, ip: meta.ip, userAgent: meta.userAgent, details: { factor: 'totp' } });
      return true;
    }));
  if (!confirmed) return codeFailed(ctx, userId, 'enrolment', meta);
  ctx.metrics.mfa.inc({ event: 'enrolled' });
  return codes;
}

/** Removes the user's factor (after their password was checked); 404 when there is none. */
export async function removeMfa(ctx: Pick<AuthContext, 'db' | 'passwords' | 'metrics'>, user: Pick<UserRow, 'id' | 'password_hash'>, password: string, meta: RequestMeta): Promise<void> {
  if (!(await ctx.passwords.verify(user.password_hash, password))) throw AuthErrors.wrongCurrentPassword('The password is wrong.');
  const removed = await ctx.db.transaction().execute(async (trx) => {
    if (!(await deleteMfa(trx, user.id))) return false;
    await recordAudit(trx, { event: 'mfa_removed', userId: user.id, ip: meta.ip, userAgent: meta.userAgent, details: { by: 'user' } });
    return true;
  });
  if (!removed) throw AuthErrors.mfaNotEnabled();
  ctx.metrics.mfa.inc({ event: 'removed' });
}

/** Support's reset (authctl users reset-mfa): removes the factor without the password; false when there was none. */
export async function resetMfa(ctx: Pick<AuthContext, 'db'>, userId: string, meta: RequestMeta): Promise<boolean> {
  return ctx.db.transaction().execute(async (trx) => {
    if (!(await deleteMfa(trx, userId))) return false;
    await recordAudit(trx, { event: 'mfa_removed', userId, ip: meta.ip, userAgent: meta.userAgent, details: { by: 'authctl' } });
    return true;
  });
}

/** The first step of a two-step login: an opaque single-use token (only its SHA-256 stored), valid 5 minutes. */
export async function startMfaLogin(ctx: Pick<AuthContext, 'db' | 'metrics'>, userId: string, remember: boolean): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await insertLoginToken(ctx.db, sha256(token), userId, remember, MFA_TOKEN_TTL_SECONDS);
  ctx.metrics.mfa.inc({ event: 'challenged' });
  return token;
}

/** The user a live mfa_token names (not spent here), or undefined for an unknown, used or expired one. */
export async function mfaLoginUser(db: Db, token: string): Promise<string | undefined> {
  if (!MFA_TOKEN.test(token)) return undefined;
  return (await findLiveLoginToken(db, sha256(token)))?.user_id;
}

export interface CompletedMfaLogin {
  userId: string;
  remember: boolean;
  method: 'totp' | 'recovery_code';
}

/**
 * The second step: spends the mfa_token and the code together (one transaction, so a wrong code
 * leaves the token usable for another try within its 5 minutes, and a right one spends both).
 * 400 invalid_token for an unknown, used or expired token; 401 invalid_code for a wrong code.
 */
export async function completeMfaLogin(ctx: Pick<AuthContext, 'db' | 'config' | 'metrics'>, token: string, code: string, meta: RequestMeta): Promise<CompletedMfaLogin> {
  if (!MFA_TOKEN.test(token)) throw AuthErrors.invalidMfaToken();
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const spent = await spendLoginToken(trx, sha256(token));
    if (!spent) return { kind: 'invalid_token' as const };
    const method = await spendCode(trx, ctx.config, spent.user_id, code);
    // Throwing rolls the token's spend back with the transaction.
    if (method === undefined) throw new WrongCode(spent.user_id);
    if (method === 'recovery_code') {
      const left = await countUnusedRecoveryCodes(trx, spent.user_id);
      await recordAudit(trx, { event: 'mfa_recovery_code_used', userId: spent.user_id, ip: meta.ip, userAgent: meta.userAgent, details: { remaining: left } });
    }
    return { kind: 'ok' as const, userId: spent.user_id, remember: spent.remember, method };
  }).catch((error: unknown) => {
    if (error instanceof WrongCode) return { kind: 'invalid_code' as const, userId: error.userId };
    throw error;
  });
  if (outcome.kind === 'invalid_token') throw AuthErrors.invalidMfaToken();
  if (outcome.kind === 'invalid_code') return codeFailed(ctx, outcome.userId, 'login', meta);
  ctx.metrics.mfa.inc({ event: outcome.method === 'totp' ? 'verified' : 'recovery_code_used' });
  return { userId: outcome.userId, remember: outcome.remember, method: outcome.method };
}

class WrongCode extends Error {
  constructor(readonly userId: string) {
    super('wrong code');
  }
}

/** Forgets expired login tokens (the purge task). */
export function purgeExpiredMfaTokens(db: Db): Promise<void> {
  return purgeLoginTokens(db);
}
