/**
 * Browser origins in settings: ALLOWED_ORIGINS is read by the auth service (the cookie calls'
 * Origin check) and by the gateway (CORS), so its parsing lives here once. `selfOrigins` is the
 * gateway's own origin as a browser may name it: ISSUER's origin, and in development the same port
 * at the other loopback name, because `pnpm start` prints http://127.0.0.1:8080 while ISSUER
 * defaults to http://localhost:8080 and a person may open either.
 */
import { list, type Setting } from './settings.js';

function checkOrigin(item: string): void {
  let parsed: URL;
  try {
    parsed = new URL(item);
  } catch {
    throw new Error(`must be a comma-separated list of origins like https://app.example.com, got "${item}"`);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.origin !== item.replace(/\/$/, '')) {
    throw new Error(`must list origins only (scheme://host[:port], no path), got "${item}"`);
  }
}

/** A comma-separated list of http(s) origins (scheme://host[:port]); each item is normalised to URL.origin. */
export function originList(env: string): Setting<readonly string[]> {
  const items = list(env, { check: checkOrigin });
  return { env, parse: (raw) => Object.freeze(items.parse(raw).map((item) => new URL(item).origin)) };
}

const LOOPBACK_TWINS: Readonly<Record<string, string>> = { localhost: '127.0.0.1', '127.0.0.1': 'localhost' };

/**
 * ISSUER's origin, plus, outside production, the same scheme and port at the other loopback name
 * (localhost ↔ 127.0.0.1). Production trusts exactly ISSUER's origin: there the public name is
 * one, and a loopback alias would be a second origin nobody meant to trust.
 */
export function selfOrigins(issuer: string, nodeEnv: string): readonly string[] {
  const own = new URL(issuer);
  const twin = LOOPBACK_TWINS[own.hostname];
  if (nodeEnv === 'production' || twin === undefined) return Object.freeze([own.origin]);
  const other = new URL(own.origin);
  other.hostname = twin;
  return Object.freeze([own.origin, other.origin]);
}
