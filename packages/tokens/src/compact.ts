/**
 * The contract accepts only the canonical JWS compact form: exactly three base64url segments
 * (RFC 7515 §7.1, no padding, no whitespace), each decoding to bytes that re-encode to exactly
 * the same text. Node's base64url decoder is lenient (it ignores stray characters and non-zero
 * trailing bits), so two different strings could otherwise carry the same signature: the
 * re-encoding check makes the token text itself unique, which the verified-token cache relies on.
 */
import { tokenError } from './errors.js';

export interface CompactParts {
  header: Buffer;
  payload: Buffer;
  signature: Buffer;
  /** `<header>.<payload>` as ASCII bytes: what the signature covers. */
  signingInput: Buffer;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Equivalent to "decodes and re-encodes to the same text" without the re-encoding: over the
 * base64url alphabet, a text is canonical exactly when its length is not 4n+1 (no byte string
 * encodes to that) and the bits its last character carries beyond the data are zero.
 */
function isCanonical(segment: string): boolean {
  if (!SEGMENT.test(segment)) return false;
  const rest = segment.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = ALPHABET.indexOf(segment[segment.length - 1]!);
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

function decodeSegment(segment: string, name: string): Buffer {
  if (!isCanonical(segment)) throw tokenError('token_malformed', `The token's ${name} is not canonical base64url.`);
  return Buffer.from(segment, 'base64url');
}

export function parseCompact(token: string, maxLength: number): CompactParts {
  if (token.length > maxLength) throw tokenError('token_too_large', `The token is longer than ${maxLength} characters.`);
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (first === -1 || second === -1 || token.indexOf('.', second + 1) !== -1) {
    throw tokenError('token_malformed', 'The token is not a JWS in compact form (three segments).');
  }
  const header = decodeSegment(token.slice(0, first), 'header');
  const payload = decodeSegment(token.slice(first + 1, second), 'payload');
  const signature = decodeSegment(token.slice(second + 1), 'signature');
  return { header, payload, signature, signingInput: Buffer.from(token.slice(0, second), 'latin1') };
}
