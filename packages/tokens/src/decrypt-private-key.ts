/** Opens a private key sealed by encryptPrivateKey and imports it as a non-extractable signing key. */
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { assertSigningAlg, type SigningAlg } from './algorithms.js';
import { deriveKey } from './derive-key.js';
import { PRIVATE_KEY_PURPOSE } from './encrypt-private-key.js';
import { TokensError } from './errors.js';
import { openSecret } from './open.js';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
}

export async function decryptPrivateKey(sealed: string, keyEncryptionKey: Uint8Array, kid: string, alg: string): Promise<SigningKey> {
  assertSigningAlg(alg);
  const plaintext = openSecret(sealed, deriveKey(keyEncryptionKey, PRIVATE_KEY_PURPOSE), `kid:${kid}`);
  let jwk: JWK;
  try {
    jwk = JSON.parse(plaintext.toString('utf8')) as JWK;
  } catch (cause) {
    throw new TokensError('ERR_TOKENS_INVALID_KEY', 'The decrypted key is not a JWK.', { cause });
  } finally {
    plaintext.fill(0);
  }
  const privateKey = (await importJWK(jwk, alg, { extractable: false })) as CryptoKey;
  return { kid, alg, privateKey };
}
