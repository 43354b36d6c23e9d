/**
 * The rules a token's protected header must meet before any key is looked up: a JSON object, none
 * of the members that could make a verifier trust another key or read the payload differently,
 * an alg and a kid that looks like a key id, and typ at+jwt (RFC 9068 §4).
 */
import { tokenError } from './errors.js';
import { isKeyId } from './key-source.js';

/** jku/x5u/jwk/x5c/x5t name another key; crit and b64 change how the token is read; zip compresses what is signed. */
const FORBIDDEN_MEMBERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64', 'zip'];

export function checkHeader(header: Record<string, unknown> | undefined): { kid: string; alg: string } {
  if (!header) throw tokenError('header_invalid', 'The token header is not a JSON object.');
  for (const name of FORBIDDEN_MEMBERS) {
    if (name in header) throw tokenError('header_forbidden', `The token header member "${name}" is not accepted.`);
  }
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string') throw tokenError('header_invalid', 'The token header has no alg.');
  if (typeof kid !== 'string') throw tokenError('header_invalid', 'The token header has no kid.');
  if (!isKeyId(kid)) throw tokenError('kid_invalid', 'The token kid is not a key id.');
  // Media-type rules allow the application/ prefix and any case.
  const type = typeof typ === 'string' ? typ.toLowerCase() : '';
  if (type !== 'at+jwt' && type !== 'application/at+jwt') throw tokenError('typ_invalid', 'The token typ is not at+jwt.');
  return { kid, alg };
}
