/**
 * TOTP as RFC 6238 and the contract fix it: HMAC-SHA-1, 30-second steps, 6 digits, a code of the
 * previous or next step accepted too (clock drift). The arithmetic is otpauth's (a well-kept
 * implementation); this file pins the parameters and answers with the time step a code matched,
 * which the caller stores so the same code is refused a second time. QR codes as SVG (qrcode).
 */
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

const PERIOD = 30;
const DIGITS = 6;
const WINDOW = 1;
/** 160 bits, RFC 4226 §4's recommended secret length. */
const SECRET_BYTES = 20;
/** What authenticator apps show above the code. */
const ISSUER = 'keygate';

export const TOTP_CODE = /^[0-9]{6}$/;

function totpOf(secret: Uint8Array, label = 'account'): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: DIGITS, period: PERIOD, secret: new Secret({ buffer: Uint8Array.from(secret).buffer }) });
}

export function generateTotpSecret(): Uint8Array {
  return new Secret({ size: SECRET_BYTES }).bytes;
}

/** The base32 form users type into an app that cannot scan the QR code. */
export function totpSecretText(secret: Uint8Array): string {
  return new Secret({ buffer: Uint8Array.from(secret).buffer }).base32;
}

/** The `otpauth://totp/…` URI (Key Uri Format) the QR code carries; `label` is the account's email. */
export function totpUri(secret: Uint8Array, label: string): string {
  return totpOf(secret, label).toString();
}

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The time step `code` is valid for at `nowMs` (±1 step), or undefined when it is not a valid code. */
export function matchingTotpStep(secret: Uint8Array, code: string, nowMs: number): number | undefined {
  if (!TOTP_CODE.test(code)) return undefined;
  const delta = totpOf(secret).validate({ token: code, timestamp: nowMs, window: WINDOW });
  if (delta === null) return undefined;
  return Math.floor(nowMs / 1000 / PERIOD) + delta;
}

/** Recovery codes: 80 random bits each, shown as `xxxx-xxxx-xxxx-xxxx` (base32, lowercase). */
export function generateRecoveryCode(): string {
  const text = new Secret({ size: 10 }).base32.toLowerCase();
  return text.match(/.{4}/g)!.join('-');
}

/** A recovery code as typed (any case, with or without dashes and spaces), or undefined when it cannot be one. */
export function normalizeRecoveryCode(value: string): string | undefined {
  const compact = value.replace(/[\s-]/g, '').toLowerCase();
  return /^[a-z2-7]{16}$/.test(compact) ? compact : undefined;
}
