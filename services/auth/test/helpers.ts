/**
 * Test helpers: an auth app per test file on a fresh database (real PostgreSQL and Redis when
 * DATABASE_URL/REDIS_URL are set), listening on 127.0.0.1:0 so tests speak real HTTP.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { createTestEnvironment, freePort, startCaptureSmtp, type CaptureSmtp, type CapturedMail } from '@keygate/testing';
import { build } from '../src/app.js';
import { loadConfig, type AuthConfig } from '../src/config.js';
import type { AuthContext } from '../src/context.js';

export interface TestAuth {
  app: FastifyInstance;
  base: string;
  ctx: AuthContext;
  config: AuthConfig;
  env: Record<string, string>;
}

/** `selfIssued`: listen on a free port chosen first and set ISSUER to that URL (for OAuth discovery). */
export async function startAuth(t: Test, overrides: Record<string, string> = {}, options: { selfIssued?: boolean } = {}): Promise<TestAuth> {
  const port = options.selfIssued ? await freePort() : 0;
  // Test files register more users a minute from 127.0.0.1 than the contract's default allows;
  // rate-limit.test.ts tests the registration limit itself with its own value.
  const defaults = { RATE_LIMIT_REGISTER_PER_IP: '10000' };
  const environment = await createTestEnvironment(options.selfIssued ? { ...defaults, ISSUER: `http://127.0.0.1:${port}`, AUTH_PORT: String(port), ...overrides } : { ...defaults, ...overrides });
  const config = loadConfig(environment.env);
  const app = await build(config).catch(async (error: unknown) => {
    await environment.cleanup();
    throw error;
  });
  // The app (and its pool) closes before its database is dropped.
  t.teardown(async () => {
    await app.close();
    await environment.cleanup();
  });
  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { app, base: `http://127.0.0.1:${address.port}`, ctx: app.authContext, config, env: environment.env };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
  cookies: string[];
}

export async function http(base: string, method: string, path: string, options: { json?: unknown; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined = options.body;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${base}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed, text, cookies: response.headers.getSetCookie() };
}

/** The refresh token value from a Set-Cookie list ('' when cleared, undefined when absent). */
export function refreshCookieValue(cookies: string[]): string | undefined {
  const line = cookies.find((c) => c.startsWith('refresh_token='));
  return line === undefined ? undefined : line.slice('refresh_token='.length).split(';')[0];
}

export function cookieHeader(refreshToken: string): Record<string, string> {
  return { cookie: `refresh_token=${refreshToken}` };
}

export function bearer(accessToken: string): Record<string, string> {
  return { authorization: `Bearer ${accessToken}` };
}

let counter = 0;
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}-${process.pid}@example.com`;
}

export const PASSWORD = 'correct horse battery';

export interface LoggedIn {
  email: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

export async function registerAndLogin(base: string, email = uniqueEmail(), password = PASSWORD): Promise<LoggedIn> {
  const registered = await http(base, 'POST', '/auth/register', { json: { email, password } });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  return { ...(await login(base, email, password)), userId: (registered.body as { id: string }).id };
}

export async function login(base: string, email: string, password = PASSWORD): Promise<LoggedIn> {
  const response = await http(base, 'POST', '/auth/login', { json: { email, password } });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${response.text}`);
  const refreshToken = refreshCookieValue(response.cookies);
  if (!refreshToken) throw new Error('no refresh cookie');
  const accessToken = (response.body as { access_token: string }).access_token;
  const sub = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string };
  return { email, userId: sub.sub, accessToken, refreshToken };
}

export async function refresh(base: string, refreshToken: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(base, 'POST', '/auth/refresh', { headers: { ...cookieHeader(refreshToken), ...headers } });
}

export function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds (or 5 s pass), for effects delivered asynchronously such as pub/sub. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}

/** Runs the built authctl (dist/cli.js) with `env`; never throws for a non-zero exit. */
export const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../dist/cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function authctl(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}


/** An auth app whose mail goes to a capture SMTP server in the test (quick polls and retries). */
export async function startAuthWithMail(t: Test, overrides: Record<string, string> = {}): Promise<TestAuth & { smtp: CaptureSmtp }> {
  const smtp = await startCaptureSmtp();
  t.teardown(() => smtp.stop());
  const auth = await startAuth(t, { SMTP_URL: smtp.url, MAIL_POLL_MS: '50', MAIL_RETRY_MIN_MS: '50', MAIL_RETRY_MAX_MS: '250', ...overrides });
  return { ...auth, smtp };
}

/** The token of a mailed link (`#verify_email=…` or `#reset_password=…`) in a captured mail's text. */
export function mailedToken(mail: CapturedMail, param: 'verify_email' | 'reset_password'): string {
  const match = new RegExp(`#${param}=([A-Za-z0-9_-]{43})`).exec(mail.text);
  if (!match) throw new Error(`no ${param} link in: ${mail.text}`);
  return match[1]!;
}
