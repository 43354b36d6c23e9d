/**
 * Single-use mailed tokens: 256 random bits, base64url, the same shape as refresh tokens (and made
 * by the same functions); only the SHA-256 is stored, so a database leak does not hand out
 * working links.
 */
import { generateRefreshToken, hashRefreshToken, looksLikeRefreshToken } from '../sessions/refresh-token-values.js';
import type { Db } from '../db/schema.js';
import { AuthErrors } from '../errors.js';
import { deleteExpiredAccountTokens, findLiveAccountToken, insertAccountToken, spendAccountToken, type AccountTokenPurpose } from './account-tokens.repository.js';

/** Creates a token for the user and returns its value (to be mailed, never stored). */
export async function issueAccountToken(db: Db, userId: string, purpose: AccountTokenPurpose, ttlSeconds: number): Promise<string> {
  const token = generateRefreshToken();
  await insertAccountToken(db, { hash: hashRefreshToken(token), userId, purpose, ttlSeconds });
  return token;
}

/** The user of a live token, or 400 invalid_token (unknown, expired and spent look the same). */
export async function liveAccountTokenUser(db: Db, token: string, purpose: AccountTokenPurpose): Promise<string> {
  const userId = looksLikeRefreshToken(token) ? await findLiveAccountToken(db, hashRefreshToken(token), purpose) : undefined;
  if (userId === undefined) throw AuthErrors.invalidAccountToken();
  return userId;
}

/** Spends a live token and returns its user, or 400 invalid_token; of two concurrent spends one wins. */
export async function spendLiveAccountToken(db: Db, token: string, purpose: AccountTokenPurpose): Promise<string> {
  const userId = looksLikeRefreshToken(token) ? await spendAccountToken(db, hashRefreshToken(token), purpose) : undefined;
  if (userId === undefined) throw AuthErrors.invalidAccountToken();
  return userId;
}

/** Tokens expired for a day: deleted (app.ts runs it periodically). */
export function purgeExpiredAccountTokens(db: Db): Promise<void> {
  return deleteExpiredAccountTokens(db);
}
