/** Seals a private JWK for storage: AES-256-GCM under a key derived from KEY_ENCRYPTION_KEY, bound to its kid. */
import type { JWK } from 'jose';
import { deriveKey } from './derive-key.js';
import { sealSecret } from './seal.js';

export const PRIVATE_KEY_PURPOSE = 'signing-key';

export function encryptPrivateKey(privateJwk: JWK, keyEncryptionKey: Uint8Array, kid: string): string {
  return sealSecret(Buffer.from(JSON.stringify(privateJwk), 'utf8'), deriveKey(keyEncryptionKey, PRIVATE_KEY_PURPOSE), `kid:${kid}`);
}
