/**
 * Where the verifier finds the key of a kid. The verification rules do not depend on how keys
 * arrive: the gateway's source is the issuer's JWKS over HTTP (createJwksClient), the auth
 * service's is its own signing-key table (its KeyStore). Either way the source pins each key to
 * one algorithm, and a key it stops listing stops verifying at once, fast path included.
 */
import type { VerificationKey } from './verification-key.js';

export interface KeySource {
  /**
   * The key of kid when already known, synchronously. The verifier asks on every call, fast path
   * included, and expects the same object for as long as the key is unchanged: a different object
   * (or none) means the key was withdrawn or replaced, and tokens cached against it are judged
   * afresh.
   */
  get(kid: string): VerificationKey | undefined;
  /**
   * The key of kid, reloading the keys first when it is unknown (the source bounds how often, so a
   * stream of forged kids cannot make it reload on every request). Never rejects for a failed
   * reload: the keys already loaded stay.
   */
  resolve(kid: string): Promise<VerificationKey | undefined>;
  /** False until keys were loaded once: the verifier then answers `jwks_unavailable`, not `kid_unknown`. */
  readonly loaded: boolean;
  /** True for a kid the source refuses (a revoked key): the verifier answers `key_revoked`, not `kid_unknown`. */
  refuses?(kid: string): boolean;
}

const KID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/** What a key id may look like, in a token header and in a key set: no path separators, no dot-dot, no whitespace. */
export function isKeyId(kid: string): boolean {
  return KID_PATTERN.test(kid) && !kid.includes('..');
}
