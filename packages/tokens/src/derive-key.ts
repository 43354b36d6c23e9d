/**
 * Derives a purpose-specific 32-byte key from the key-encryption key (HKDF-SHA256), so one
 * configured secret never encrypts two kinds of data under the same key.
 */
import { hkdfSync } from 'node:crypto';
import { assertAesKey } from './seal.js';

export function deriveKey(masterKey: Uint8Array, purpose: string): Buffer {
  assertAesKey(masterKey);
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `keygate:${purpose}`, 32));
}
