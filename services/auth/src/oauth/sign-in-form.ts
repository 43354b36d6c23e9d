/**
 * The authorization request carried by the sign-in form, and the consent form's request after it:
 * HS256 JWTs (jose) under a key derived once from KEY_ENCRYPTION_KEY, each bound to the random
 * nonce of the form's cookie and expiring with the form. The two have different `typ`s, so one
 * form's field is never accepted by the other. A post without that cookie (login CSRF), with a
 * field signed for another cookie, or with an altered or expired field opens to undefined. The
 * consent field also carries the user who signed in and the whole pending request: it completes
 * exactly that request for exactly that user, never another one pending in the same browser.
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
  /** OIDC `nonce`, echoed in the ID token. */
  oidcNonce?: string | undefined;
  /** `prompt=consent`: ask again even when the scopes were approved before. */
  forceConsent?: boolean | undefined;
}

/** A signed-in user's pending request, waiting for the consent page's answer. */
export interface PendingConsent {
  pending: PendingAuthorization;
  userId: string;
  /** Milliseconds since the epoch: when the password was checked (the ID token's auth_time). */
  authTime: number;
  /** How the user signed in (`pwd`, `otp`), for the session the code starts. */
  amr: string[];
}

export interface SignInForm {
  sign(nonce: string, pending: PendingAuthorization): Promise<string>;
  open(nonce: string, signed: string): Promise<PendingAuthorization | undefined>;
  signConsent(nonce: string, consent: PendingConsent): Promise<string>;
  openConsent(nonce: string, signed: string): Promise<PendingConsent | undefined>;
}

const SIGN_IN_TYP = 'keygate-authorize-form+jwt';
const CONSENT_TYP = 'keygate-consent-form+jwt';

export function signInForm(keyEncryptionKey: Uint8Array, ttlSeconds: number): SignInForm {
  const key = deriveKey(keyEncryptionKey, 'authorize-form');
  const sign = (typ: string, nonce: string, claims: Record<string, unknown>) =>
    new SignJWT({ ...claims, nonce }).setProtectedHeader({ alg: 'HS256', typ }).setExpirationTime(`${ttlSeconds}s`).sign(key);
  const open = async (typ: string, nonce: string, signed: string): Promise<Record<string, unknown> | undefined> => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(signed, key, { algorithms: ['HS256'], typ, requiredClaims: ['exp'] }));
    } catch (error) {
      // Malformed, altered, expired: the form is refused; anything else is a bug to surface.
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
    return typeof payload.nonce === 'string' && sameString(payload.nonce, nonce) ? payload : undefined;
  };
  const pendingOf = (value: unknown): PendingAuthorization => {
    const { clientId, redirectUri, state, codeChallenge, scope, oidcNonce, forceConsent } = value as PendingAuthorization;
    return { clientId, redirectUri, state, codeChallenge, scope: scope ?? null, oidcNonce, forceConsent: forceConsent === true };
  };
  return {
    sign: (nonce, pending) => sign(SIGN_IN_TYP, nonce, { ...pending }),
    async open(nonce, signed) {
      const payload = await open(SIGN_IN_TYP, nonce, signed);
      return payload === undefined ? undefined : pendingOf(payload);
    },
    signConsent: (nonce, consent) => sign(CONSENT_TYP, nonce, { ...consent }),
    async openConsent(nonce, signed) {
      const payload = await open(CONSENT_TYP, nonce, signed);
      if (payload === undefined || typeof payload.userId !== 'string' || typeof payload.authTime !== 'number' || typeof payload.pending !== 'object') return undefined;
      const amr = Array.isArray(payload.amr) && payload.amr.every((value) => typeof value === 'string') ? (payload.amr as string[]) : ['pwd'];
      return { pending: pendingOf(payload.pending), userId: payload.userId, authTime: payload.authTime, amr };
    },
  };
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
