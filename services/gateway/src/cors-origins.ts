/**
 * The browser origins of public clients, for CORS on the token endpoints. The gateway has no
 * database: the auth service lists the origins of public clients' redirect URIs
 * (GET /internal/cors-origins, the gateway's own proof) and this module reads that list at start
 * and every CORS_ORIGINS_REFRESH_MS, keeping the last good list while auth cannot be reached (a
 * failed read is retried sooner, from 1 s doubling up to the refresh interval). A client
 * registered or removed is thus seen within one interval at every gateway; no bus message is
 * needed, and an outage of auth never empties the list.
 *
 * A loopback origin (http://127.0.0.1, http://[::1]) stands for every port of that host, as its
 * redirect URI does (RFC 8252 §7.3: a native or development app takes whatever port is free).
 */
import { INTERNAL_CORS_ORIGINS_PATH } from '@keygate/internal-api';
import { getAuthInternal, type AuthInternalOptions } from './auth-internal.js';

const RETRY_MIN_MS = 1_000;
/** Hosts whose registered origin matches any port (the contract's loopback redirect rule). */
const ANY_PORT_HOSTS = new Set(['127.0.0.1', '[::1]']);

export interface PublicClientOriginsOptions extends AuthInternalOptions {
  refreshMs: number;
  onFailed(error: unknown): void;
}

/** Reads the list once; throws when auth cannot be reached or answers anything but the list. */
async function fetchOrigins(options: PublicClientOriginsOptions): Promise<string[]> {
  const { origins } = await getAuthInternal(options, INTERNAL_CORS_ORIGINS_PATH);
  if (!Array.isArray(origins)) throw new Error('the auth service did not answer an origin list');
  return origins.filter((origin): origin is string => typeof origin === 'string');
}

/** `http://127.0.0.1:8090` → `http://127.0.0.1` when the host takes any port, else undefined. */
function anyPortKey(origin: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return undefined;
  }
  return parsed.protocol === 'http:' && ANY_PORT_HOSTS.has(parsed.hostname) ? `http://${parsed.hostname}` : undefined;
}

export class PublicClientOrigins {
  private exact = new Set<string>();
  private anyPort = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  /** Whether a list was ever loaded (until then only ALLOWED_ORIGINS pass). */
  loaded = false;

  constructor(private readonly options: PublicClientOriginsOptions) {}

  /** Reads now and then every refreshMs; resolves after the first attempt, whatever its outcome. */
  async start(): Promise<void> {
    await this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  allows(origin: string): boolean {
    if (this.exact.has(origin)) return true;
    if (this.anyPort.size === 0) return false;
    const key = anyPortKey(origin);
    return key !== undefined && this.anyPort.has(key);
  }

  /** Replaces the list (what a poll does; tests call it directly). */
  set(origins: readonly string[]): void {
    this.exact = new Set(origins);
    this.anyPort = new Set(origins.map(anyPortKey).filter((key): key is string => key !== undefined));
    this.loaded = true;
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    let delay = this.options.refreshMs;
    try {
      const origins = await fetchOrigins(this.options);
      if (this.stopped) return;
      this.failures = 0;
      this.set(origins);
    } catch (error) {
      if (this.stopped) return;
      this.failures += 1;
      this.options.onFailed(error);
      delay = Math.min(RETRY_MIN_MS * 2 ** (this.failures - 1), this.options.refreshMs);
    }
    this.timer = setTimeout(() => void this.poll(), delay);
    this.timer.unref();
  }
}
