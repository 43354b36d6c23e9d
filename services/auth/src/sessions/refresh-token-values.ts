/** Refresh tokens are 256 random bits, base64url (43 characters); only their SHA-256 is stored. */
import { createHash, randomBytes } from 'node:crypto';

export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Cheap shape check before any database work: anything else cannot be one of ours. */
export function looksLikeRefreshToken(value: unknown): value is string {
  return typeof value === 'string' && REFRESH_TOKEN_PATTERN.test(value);
}
