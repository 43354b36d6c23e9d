/**
 * The HTTP client side of the scale tests: one function per contract call, results as plain data
 * (status, parsed body, headers, time) so a failure can be recorded instead of thrown, and a tiny
 * session holder for the refresh cookie. Only 127.0.0.1 is ever contacted.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';

export interface Reply {
  status: number;
  body: unknown;
  headers: Headers;
  ms: number;
}

export interface CallOptions {
  token?: string;
  cookie?: string;
  json?: unknown;
  timeoutMs?: number;
  /**
   * A connection of its own, closed after the reply (`Connection: close`), instead of fetch's
   * keep-alive pool: a client without keep-alive. Such a client never sends on a connection the
   * server is closing as idle (nginx does that to every idle connection when it reloads).
   */
  newConnection?: boolean;
}

/** One request on a new connection (node:http without an agent), as plain data. */
function callOnNewConnection(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number) {
  return new Promise<{ status: number; headers: Headers; text: string }>((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', reject);
      res.on('end', () => {
        const replyHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) replyHeaders.append(name, item);
        }
        resolve({ status: res.statusCode ?? 0, headers: replyHeaders, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  if (!base.startsWith('http://127.0.0.1:')) throw new Error(`refusing non-local target ${base}`);
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie !== undefined) headers.cookie = `refresh_token=${options.cookie}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  const timeoutMs = options.timeoutMs ?? 15_000;
  let status: number;
  let replyHeaders: Headers;
  let text: string;
  if (options.newConnection) {
    ({ status, headers: replyHeaders, text } = await callOnNewConnection(new URL(`${base}${path}`), method, headers, payload, timeoutMs));
  } else {
    const response = await fetch(`${base}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
    status = response.status;
    replyHeaders = response.headers;
  }
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: kept as text so the failure report shows it
  }
  return { status, body, headers: replyHeaders, ms: performance.now() - started };
}

/** Like `call`, but a network error becomes status 0 with the message as body. */
export async function tryCall(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const started = performance.now();
  try {
    return await call(base, method, path, options);
  } catch (error) {
    return {
      status: 0,
      body: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      headers: new Headers(),
      ms: performance.now() - started,
    };
  }
}

/** The `refresh_token` value from Set-Cookie, if the reply set one. */
export function refreshCookie(reply: Reply): string | undefined {
  for (const line of reply.headers.getSetCookie()) {
    const match = /^refresh_token=([^;]*)/.exec(line);
    if (match && match[1] !== '') return match[1];
  }
  return undefined;
}

export function errorCode(reply: Reply): string | undefined {
  const body = reply.body as { error?: unknown } | undefined;
  return typeof body === 'object' && body !== null && typeof body.error === 'string' ? body.error : undefined;
}

/** Decodes (without verifying) an access token's header and claims, to read kid, sid and jti. */
export function peek(token: string): { kid?: string; sid?: string; jti?: string; sub?: string } {
  const [header, payload] = token.split('.');
  const decode = (part: string | undefined) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  const h = decode(header);
  const p = decode(payload);
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return { kid: str(h.kid), sid: str(p.sid), jti: str(p.jti), sub: str(p.sub) };
}

/** Status and body for a failure message, tokens masked so none lands in a test log. */
export function describe(reply: Reply): string {
  const text = typeof reply.body === 'string' ? reply.body : (JSON.stringify(reply.body) ?? '');
  return `${reply.status} ${text.replace(/[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g, '<token>').slice(0, 200)}`;
}

export interface Credentials {
  email: string;
  password: string;
}

export function newCredentials(tag: string): Credentials {
  return { email: `${tag}-${randomBytes(5).toString('hex')}@scale.test`, password: `pw-${randomBytes(12).toString('hex')}` };
}

/** A logged-in client: its current access token and refresh cookie. */
export interface Session {
  credentials: Credentials;
  accessToken: string;
  cookie: string;
}

export async function register(base: string, credentials: Credentials): Promise<void> {
  const reply = await call(base, 'POST', '/auth/register', { json: credentials });
  if (reply.status !== 201) throw new Error(`register ${credentials.email}: ${describe(reply)}`);
}

/** Login; throws unless 200 with a token and a refresh cookie. */
export async function login(base: string, credentials: Credentials): Promise<Session> {
  const reply = await call(base, 'POST', '/auth/login', { json: credentials });
  const session = sessionFrom(credentials, reply);
  if (!session) throw new Error(`login ${credentials.email}: ${describe(reply)}`);
  return session;
}

export async function registerAndLogin(base: string, tag: string): Promise<Session> {
  const credentials = newCredentials(tag);
  await register(base, credentials);
  return login(base, credentials);
}

/** The session a 200 login/refresh reply describes, or undefined. */
export function sessionFrom(credentials: Credentials, reply: Reply): Session | undefined {
  const body = reply.body as { access_token?: unknown } | undefined;
  const cookie = refreshCookie(reply);
  if (reply.status !== 200 || typeof body?.access_token !== 'string' || cookie === undefined) return undefined;
  return { credentials, accessToken: body.access_token, cookie };
}

/** How a call is made, beside what it sends. */
export type Transport = Pick<CallOptions, 'timeoutMs' | 'newConnection'>;

export function refresh(base: string, session: Session, transport: Transport = {}): Promise<Reply> {
  return tryCall(base, 'POST', '/auth/refresh', { cookie: session.cookie, ...transport });
}

/** A request that needs a valid token at the gateway (then reaches orders). */
export function protectedGet(base: string, token: string, transport: Transport = {}): Promise<Reply> {
  return tryCall(base, 'GET', '/orders', { token, ...transport });
}

/**
 * Polls every base with `token` until each refuses it (401): the slowest base's time in ms, or
 * undefined when one still accepts it after `timeoutMs` or answers anything but 200/401.
 */
export async function timeUntilRefused(
  bases: readonly string[],
  token: string,
  options: { timeoutMs: number; pollMs?: number },
): Promise<number | undefined> {
  const started = performance.now();
  const perBase = await Promise.all(
    bases.map(async (base) => {
      while (performance.now() - started < options.timeoutMs) {
        const reply = await protectedGet(base, token);
        if (reply.status === 401) return performance.now() - started;
        if (reply.status !== 200) return undefined;
        await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 5));
      }
      return undefined;
    }),
  );
  return perBase.some((ms) => ms === undefined) ? undefined : Math.max(...(perBase as number[]));
}

/** Whether `token`'s owner has an order_placed notification for `orderId` now (one inbox read through `base`). */
export async function hasOrderNotification(base: string, token: string, orderId: string | undefined): Promise<boolean> {
  const inbox = await call(base, 'GET', '/notifications', { token });
  const list = Array.isArray(inbox.body) ? (inbox.body as { type?: string; data?: { order_id?: string } }[]) : [];
  return list.some((n) => n.type === 'order_placed' && n.data?.order_id === orderId);
}
