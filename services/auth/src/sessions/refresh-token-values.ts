/** Refresh tokens are 256 random bits, base64url (43 characters); only their SHA-256 is stored. */
import { hash, randomBytes } from 'node:crypto';

export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

// One-shot crypto.hash: no Hash object per call (a refresh hashes twice: the presented token and its successor).
export function hashRefreshToken(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Cheap shape check before any database work: anything else cannot be one of ours. */
export function looksLikeRefreshToken(value: unknown): value is string {
  return typeof value === 'string' && REFRESH_TOKEN_PATTERN.test(value);
}
