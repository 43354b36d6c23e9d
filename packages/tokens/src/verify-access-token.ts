/**
 * Verifies an access token against keys looked up by kid. The algorithm is pinned per kid from the
 * key entry, never taken from the token header; typ must be at+jwt; iss, aud, exp and iat are
 * checked with at most 30 s of clock skew. Every failure is one coded error.
 */
import { decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { assertSigningAlg } from './algorithms.js';
import { TokensError } from './errors.js';

export const CLOCK_SKEW_SECONDS = 30;

export interface VerificationKey {
  alg: string;
  key: CryptoKey;
}

export interface VerifyOptions {
  issuer: string;
  audience: string;
  /** Returns the key for a kid, or undefined when unknown. */
  lookup: (kid: string) => VerificationKey | undefined | Promise<VerificationKey | undefined>;
  /** Seconds since the epoch; defaults to now. */
  now?: number;
}

export interface AccessTokenPayload extends JWTPayload {
  sub: string;
  jti: string;
  exp: number;
  iat: number;
  client_id: string;
  role: string;
  sid?: string;
  scope?: string;
}

/** Imports a published (public) JWK as the verification key of its kid, with its pinned alg. */
export async function importVerificationKey(publicJwk: JWK, alg: string): Promise<VerificationKey> {
  assertSigningAlg(alg);
  return { alg, key: (await importJWK(publicJwk, alg)) as CryptoKey };
}

function invalid(message: string, cause?: unknown): TokensError {
  return new TokensError('ERR_TOKENS_INVALID_TOKEN', message, cause === undefined ? undefined : { cause });
}

export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenPayload> {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch (cause) {
    throw invalid('The token is malformed.', cause);
  }
  if (typeof kid !== 'string' || kid === '') throw invalid('The token has no kid.');
  const entry = await options.lookup(kid);
  if (!entry) throw invalid('The token was signed by an unknown key.');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, entry.key, {
      algorithms: [entry.alg],
      typ: 'at+jwt',
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
      ...(options.now !== undefined ? { currentDate: new Date(options.now * 1000) } : {}),
    }));
  } catch (cause) {
    throw invalid('The token is invalid or expired.', cause);
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || payload.iat > now + CLOCK_SKEW_SECONDS) throw invalid('The token is not valid yet.');
  if (typeof payload.client_id !== 'string' || typeof payload.role !== 'string') throw invalid('The token lacks required claims.');
  if (payload.sid !== undefined && typeof payload.sid !== 'string') throw invalid('The token has a malformed sid.');
  return payload as AccessTokenPayload;
}
