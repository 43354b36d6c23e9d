/** Opens a value sealed by sealSecret; any tampering, wrong key or wrong aad is one coded error. */
import { createDecipheriv } from 'node:crypto';
import { TokensError } from './errors.js';
import { SEAL_VERSION, assertAesKey } from './seal.js';

export function openSecret(sealed: string, key: Uint8Array, aad: string): Buffer {
  assertAesKey(key);
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== SEAL_VERSION) throw new TokensError('ERR_TOKENS_DECRYPT_FAILED', 'The sealed value is malformed.');
  const iv = Buffer.from(parts[1]!, 'base64url');
  const ciphertext = Buffer.from(parts[2]!, 'base64url');
  const tag = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== 12 || tag.length !== 16) throw new TokensError('ERR_TOKENS_DECRYPT_FAILED', 'The sealed value is malformed.');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new TokensError('ERR_TOKENS_DECRYPT_FAILED', 'The sealed value could not be opened.', { cause });
  }
}
