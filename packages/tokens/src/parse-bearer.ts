/**
 * The access token of an `Authorization` header value, for every service that accepts one (the
 * gateway and auth), so both read the header alike. RFC 6750 §2.1 credentials: the scheme name,
 * case-insensitive as every auth-scheme is (RFC 7235 §2.1: `bearer`, `BEARER`), one or more
 * spaces, then the token. The token's own syntax is the verifier's to judge (canonical form), so
 * a malformed one is refused as an invalid token rather than as missing credentials.
 */

/** The token of `Bearer <token>` in any case of the scheme name; undefined for another scheme or no token. */
export function parseBearer(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 8) return undefined;
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  let start = 7;
  while (authorization.charCodeAt(start) === 0x20) start += 1;
  return start === authorization.length ? undefined : authorization.slice(start);
}
