// OAuth through the gateway, end to end: clients made with authctl (as an operator would, before
// the stack starts), a token from every grant (client_credentials, password, refresh_token,
// authorization_code with PKCE through the HTML login form) passes the gateway on /orders, and a
// revoked one stops passing within 1 s. Plain fetch here; services/auth/test/oauth-*.test.ts drive
// the same endpoints with openid-client.
import { test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { startStack } from '@keygate/stack';
import { formField, stackEnvironment, waitUntil } from './helpers.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../services/auth/dist/cli.js');
const REDIRECT = 'http://localhost:4000/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function authctl(env: Record<string, string>, ...args: string[]): Promise<Record<string, string>> {
  const { stdout } = await run(process.execPath, [CLI, ...args, '--json'], { env: { ...process.env, ...env } });
  return JSON.parse(stdout) as Record<string, string>;
}

function basic(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` };
}

test('tokens from every OAuth grant pass the gateway; revoked ones stop passing within 1 s', async (t) => {
  const environment = await stackEnvironment();
  t.teardown(() => environment.cleanup());
  // Before the stack: embedded PGlite (under DATA_DIR) allows one process at a time.
  // Each registered with the scopes its calls below need (the gateway checks them per route).
  const service = await authctl(environment.env, 'clients', 'create', '--name', 'billing', '--grant', 'client_credentials', '--scope', 'orders:read', '--scope', 'orders:write');
  const webapp = await authctl(environment.env, 'clients', 'create', '--name', 'dashboard', '--grant', 'authorization_code', '--grant', 'refresh_token', '--redirect-uri', REDIRECT, '--scope', 'orders:read');
  const stack = await startStack(environment.env);
  t.teardown(() => stack.close());
  const gw = stack.gatewayUrl;

  const token = async (params: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gw}/oauth/token`, { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(params).toString() });
    const body = (await res.json()) as Record<string, string>;
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
    t.equal(res.headers.get('cache-control'), 'no-store');
    return body;
  };
  const orderStatus = async (accessToken: string) => (await fetch(`${gw}/orders`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

  const meta = (await (await fetch(`${gw}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  t.equal(meta.token_endpoint, `${gw}/oauth/token`, 'metadata names the gateway URL (the issuer)');

  // client_credentials: a service account.
  const cc = await token({ grant_type: 'client_credentials' }, basic(service.client_id!, service.client_secret!));
  t.equal(cc.scope, 'orders:read orders:write');
  t.equal(await orderStatus(cc.access_token!), 200, 'client_credentials token passes');
  const placed = await fetch(`${gw}/orders`, { method: 'POST', headers: { authorization: `Bearer ${cc.access_token!}`, 'content-type': 'application/json' }, body: JSON.stringify({ item: 'invoice run', quantity: 1 }) });
  t.equal(placed.status, 201);
  t.equal(((await placed.json()) as { user_id: string }).user_id, service.client_id, 'the service account is the caller');

  // password (the first-party public client) and refresh_token.
  const email = 'oauth-e2e@example.com';
  const password = 'correct horse battery';
  t.equal((await fetch(`${gw}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).status, 201);
  const pw = await token({ grant_type: 'password', client_id: 'keygate-web', username: email, password });
  t.equal(await orderStatus(pw.access_token!), 200, 'password grant token passes');
  const refreshed = await token({ grant_type: 'refresh_token', client_id: 'keygate-web', refresh_token: pw.refresh_token! });
  t.not(refreshed.refresh_token, pw.refresh_token);
  t.equal(await orderStatus(refreshed.access_token!), 200, 'refresh grant token passes');

  // authorization_code + PKCE, the login form served through the gateway.
  const verifier = randomBytes(32).toString('base64url');
  const authorizeUrl = new URL(`${gw}/oauth/authorize`);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: webapp.client_id!, redirect_uri: REDIRECT, state: 's1', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' })) {
    authorizeUrl.searchParams.set(k, v);
  }
  const page = await fetch(authorizeUrl, { redirect: 'manual' });
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  // The page's own CSP reaches the browser (the gateway's API policy would block its style).
  t.match(page.headers.get('content-security-policy'), /style-src 'sha256-[^']+'; form-action 'self' http:\/\/localhost:4000/);
  const request = /name="request" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith('oauth_login='))!.split(';')[0]!;
  const posted = await fetch(`${gw}/oauth/authorize`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie }, body: new URLSearchParams({ email, password, request }).toString() });
  // A third-party client: the consent page, then Allow.
  t.equal(posted.status, 200, 'the consent page');
  const consent = formField(await posted.text(), 'consent');
  const approved = await fetch(`${gw}/oauth/authorize/consent`, { method: 'POST', redirect: 'manual', headers: { ...FORM, cookie }, body: new URLSearchParams({ consent, decision: 'approve' }).toString() });
  t.equal(approved.status, 303);
  const landed = new URL(approved.headers.get('location')!);
  t.equal(landed.searchParams.get('state'), 's1');
  const ac = await token(
    { grant_type: 'authorization_code', code: landed.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier },
    basic(webapp.client_id!, webapp.client_secret!),
  );
  t.equal(await orderStatus(ac.access_token!), 200, 'authorization_code token passes');

  // Revocation: one access token by jti (RFC 7009), and a whole session by its refresh token.
  const revoke = (tokenValue: string, headers: Record<string, string>, extra: Record<string, string> = {}) =>
    fetch(`${gw}/oauth/revoke`, { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams({ token: tokenValue, ...extra }).toString() });
  t.equal((await revoke(cc.access_token!, basic(service.client_id!, service.client_secret!))).status, 200);
  const ccRefused = await waitUntil(async () => (await orderStatus(cc.access_token!)) === 401, 1_000);
  t.ok(ccRefused !== undefined, `the revoked client_credentials token is refused within 1 s (${ccRefused} ms)`);
  t.equal((await revoke(ac.refresh_token!, basic(webapp.client_id!, webapp.client_secret!))).status, 200);
  const acRefused = await waitUntil(async () => (await orderStatus(ac.access_token!)) === 401, 1_000);
  t.ok(acRefused !== undefined, `the revoked session's access token is refused within 1 s (${acRefused} ms)`);
  t.equal(await orderStatus(refreshed.access_token!), 200, 'other tokens still pass');
});
