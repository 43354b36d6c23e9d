/**
 * Request-target normalisation, done once before routing. The path the route table matches is
 * the path the upstream receives, so no spelling can be routed by one rule and served by
 * another: percent-decoding, dot segments (`..`, `%2e%2e`) and repeated slashes are resolved
 * here (like RFC 3986 §5.2.4), and what cannot be normalised safely — encoded slashes or
 * backslashes, raw backslashes, NUL or control characters, escaping above the root, invalid
 * percent-encoding — is refused with 400 rather than guessed at.
 */

export type NormalisedTarget = { ok: true; path: string; query: string } | { ok: false; reason: string };

/** Characters a canonical path keeps as they are (unreserved, sub-delims, ':', '@', '/'). */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_DECODED = /[/\\\x00-\x1f\x7f]/;

/** Splits a raw request target (`/p/a/t/h?query`) and normalises the path. */
export function normaliseTarget(rawUrl: string): NormalisedTarget {
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);
  if (rawPath.charCodeAt(0) !== 47) return { ok: false, reason: 'The request target must be an absolute path.' };
  // Fast path: nothing encoded, no dot segments, no empty segments: already canonical.
  if (PLAIN_PATH.test(rawPath) && !rawPath.includes('//') && !DOT_SEGMENT.test(rawPath)) return { ok: true, path: rawPath, query };
  if (rawPath.includes('\\')) return { ok: false, reason: 'Backslashes are not allowed in paths.' };
  const raw = rawPath.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < raw.length; i++) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw[i]!);
    } catch {
      return { ok: false, reason: 'The path has invalid percent-encoding.' };
    }
    if (FORBIDDEN_DECODED.test(segment)) return { ok: false, reason: 'Encoded slashes, backslashes and control characters are not allowed in paths.' };
    const last = i === raw.length - 1;
    if (segment === '' || segment === '.') {
      trailingSlash = last;
      continue;
    }
    if (segment === '..') {
      if (out.length === 0) return { ok: false, reason: 'The path climbs above the root.' };
      out.pop();
      trailingSlash = last;
      continue;
    }
    out.push(segment);
    trailingSlash = false;
  }
  if (out.length === 0) return { ok: true, path: '/', query };
  const path = `/${out.map(encodeSegment).join('/')}${trailingSlash ? '/' : ''}`;
  return { ok: true, path, query };
}

/** Percent-encodes a decoded segment, leaving the characters RFC 3986 allows as they are. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(2[4689ABC]|3[ABD]|40)/g, (match) => decodeURIComponent(match));
}
