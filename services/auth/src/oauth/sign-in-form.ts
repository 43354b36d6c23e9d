/**
 * The authorization request carried by the sign-in form: an HS256 JWT (jose) under a key derived
 * once from KEY_ENCRYPTION_KEY, bound to the random nonce of the form's cookie and expiring with
 * the form. A post without that cookie (login CSRF), with a field signed for another cookie, or
 * with an altered or expired field opens to undefined.
 */
import { timingSafeEqual } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import { deriveKey } from '@keygate/tokens';

/** The authorization request, as signed into the form. */
export interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  scope: string | null;
}

export interface SignInForm {
  sign(nonce: string, pending: PendingAuthorization): Promise<string>;
  open(nonce: string, signed: string): Promise<PendingAuthorization | undefined>;
}

const TYP = 'keygate-authorize-form+jwt';

export function signInForm(keyEncryptionKey: Uint8Array, ttlSeconds: number): SignInForm {
  const key = deriveKey(keyEncryptionKey, 'authorize-form');
  return {
    async sign(nonce, pending) {
      return new SignJWT({ ...pending, nonce }).setProtectedHeader({ alg: 'HS256', typ: TYP }).setExpirationTime(`${ttlSeconds}s`).sign(key);
    },
    async open(nonce, signed) {
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(signed, key, { algorithms: ['HS256'], typ: TYP, requiredClaims: ['exp'] }));
      } catch (error) {
        // Malformed, altered, expired: the form is refused; anything else is a bug to surface.
        if (error instanceof errors.JOSEError) return undefined;
        throw error;
      }
      if (typeof payload.nonce !== 'string' || !sameString(payload.nonce, nonce)) return undefined;
      const { clientId, redirectUri, state, codeChallenge, scope } = payload as unknown as PendingAuthorization;
      return { clientId, redirectUri, state, codeChallenge, scope: scope ?? null };
    },
  };
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
