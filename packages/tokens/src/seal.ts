/**
 * AES-256-GCM sealing of small secrets under a 32-byte key (KEY_ENCRYPTION_KEY or a key derived
 * from it). Format: `v1.<iv>.<ciphertext>.<tag>`, base64url parts; a fresh 96-bit random IV per
 * seal. `aad` binds the ciphertext to its context (a kid, a token hash), so a sealed value copied
 * to another row does not open.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { TokensError } from './errors.js';

export const SEAL_VERSION = 'v1';

export function assertAesKey(key: Uint8Array): void {
  if (key.length !== 32) throw new TokensError('ERR_TOKENS_INVALID_KEY', 'The encryption key must be exactly 32 bytes.');
}

export function sealSecret(plaintext: Uint8Array, key: Uint8Array, aad: string): string {
  assertAesKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [SEAL_VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
}
