/**
 * The claims of an access token as the contract defines them (RFC 9068 plus role and sid), and
 * the checks a payload must pass: issuer, audience, numeric dates, and the identity claims in a
 * form the gateway can forward as header values.
 */
import { tokenError } from './errors.js';

/** The most clock skew any verifier allows for exp, nbf and iat (contract: at most 30 s). */
export const CLOCK_SKEW_SECONDS = 30;

/** The claims of a verified access token. Frozen. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly nbf?: number;
  readonly jti: string;
  readonly client_id: string;
  readonly role: string;
  /** The session; absent for client_credentials tokens. */
  readonly sid?: string;
  /** Space-separated scope tokens (RFC 6749 §3.3). */
  readonly scope?: string;
}

/** Header-safe identity values: visible ASCII without comma (the gateway forwards them as headers). */
const IDENTITY_PATTERN = /^[\x21-\x2b\x2d-\x7e]{1,256}$/;
/** RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E, separated by single spaces. */
const SCOPE_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*$/;

function requiredString(payload: Record<string, unknown>, name: string, pattern?: RegExp): string {
  const value = payload[name];
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
    throw tokenError('claims_invalid', `The token claim "${name}" is missing or invalid.`);
  }
  return value;
}

function optionalString(payload: Record<string, unknown>, name: string, pattern?: RegExp): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
    throw tokenError('claims_invalid', `The token claim "${name}" is invalid.`);
  }
  return value;
}

function numericDate(payload: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const value = payload[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw tokenError('claims_invalid', `The token claim "${name}" is missing or not a number.`);
  return value;
}

/** The payload's claims, checked against issuer and audience; time is the caller's to check. */
export function readClaims(payload: Record<string, unknown>, issuer: string, audience: string): AccessTokenClaims {
  if (payload.iss !== issuer) throw tokenError('issuer_invalid', 'The token issuer is not accepted.');
  const aud = payload.aud;
  const audienceOk = aud === audience || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string') && aud.includes(audience));
  if (!audienceOk) throw tokenError('audience_invalid', 'The token audience is not accepted.');
  const nbf = numericDate(payload, 'nbf', false);
  const sid = optionalString(payload, 'sid');
  const scope = optionalString(payload, 'scope', SCOPE_PATTERN);
  return Object.freeze({
    iss: issuer,
    sub: requiredString(payload, 'sub', IDENTITY_PATTERN),
    aud: Array.isArray(aud) ? Object.freeze([...(aud as string[])]) : audience,
    exp: numericDate(payload, 'exp', true)!,
    iat: numericDate(payload, 'iat', true)!,
    ...(nbf === undefined ? {} : { nbf }),
    jti: requiredString(payload, 'jti'),
    // RFC 9068 §2.2 requires it; auth puts it in every token, and the gateway forwards it.
    client_id: requiredString(payload, 'client_id', IDENTITY_PATTERN),
    role: requiredString(payload, 'role', IDENTITY_PATTERN),
    ...(sid === undefined ? {} : { sid }),
    ...(scope === undefined ? {} : { scope }),
  });
}
