/**
 * The gateway's own calls to the auth service's /internal/* routes (the revocation list, the
 * public clients' origins, the development mailbox; paths and shapes in @keygate/internal-api): signed with the gateway's proof (role `gateway`), bounded in time so a
 * start-up or a poll never hangs on an auth instance that does not answer, and refused unless
 * auth answers 200 with JSON.
 */
import { internalCallHeaders } from '@keygate/gateway-trust';

const FETCH_TIMEOUT_MS = 2_000;

export interface AuthInternalOptions {
  /** The auth service's base URL (AUTH_URL). */
  authUrl: string;
  secret: Buffer;
  fetch?: typeof fetch;
}

/** GET `path` on auth; the parsed body (an object), or throws. */
export async function getAuthInternal(options: AuthInternalOptions, path: string): Promise<Record<string, unknown>> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const response = await doFetch(new URL(path, options.authUrl), {
    headers: { ...internalCallHeaders(options.secret, 'GET', path), accept: 'application/json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status !== 200) throw new Error(`the auth service answered ${response.status}`);
  if (typeof body !== 'object' || body === null) throw new Error('the auth service did not answer JSON');
  return body as Record<string, unknown>;
}
