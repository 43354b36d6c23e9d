// A third-party application end to end, as its developer would build it: openid-client (v6,
// unchanged) discovers the stack from the gateway's URL, runs the authorization code flow with
// PKCE through the HTML sign-in form served by the gateway, and then calls the APIs with what it
// got. It was registered (by the operator, with authctl) for orders:read only. An admin signs in
// on it: the token carries the admin's role, and still reaches only what orders:read allows.
import { test } from 'tap';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import * as client from 'openid-client';
import { startStack } from '@keygate/stack';
import { formField, stackEnvironment } from './helpers.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../services/auth/dist/cli.js');
const REDIRECT = 'http://127.0.0.1:4000/callback';
const ADMIN_EMAIL = 'operator@example.com';
const ADMIN_PASSWORD = 'operator password 1';

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

test('a third-party authorization-code client reaches what its scope allows, and nothing else', async (t) => {
  const environment = await stackEnvironment({ overrides: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  t.teardown(() => environment.cleanup());
  // Before the stack: embedded PGlite (under DATA_DIR) allows one process at a time.
  const created = await run(
    process.execPath,
    [CLI, 'clients', 'create', '--name', 'Order Viewer', '--grant', 'authorization_code', '--grant', 'refresh_token', '--redirect-uri', REDIRECT, '--scope', 'orders:read', '--json'],
    { env: { ...process.env, ...environment.env } },
  );
  const registered = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  const stack = await startStack(environment.env);
  t.teardown(() => stack.close());
  const gw = stack.gatewayUrl;

  // The developer's side: discovery from the issuer (the gateway), the client's own secret.
  const config = await client.discovery(new URL(gw), registered.client_id, undefined, client.ClientSecretBasic(registered.client_secret), {
    execute: [client.allowInsecureRequests],
  });
  t.ok(config.serverMetadata().scopes_supported?.includes('orders:read'), 'discovery lists the product scopes');
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'orders:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });

  // The browser's side: the sign-in page through the gateway, the admin's credentials, the redirect.
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  t.equal(page.status, 200, 'the sign-in page');
  const html = await page.text();
  t.match(html, /Order Viewer/, 'names the client');
  const request = formField(html, 'request');
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith('oauth_login='))!.split(';')[0]!;
  const signedIn = await fetch(`${gw}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD, request }).toString(),
  });
  // A third-party client: the consent page next (client name, the scope in plain words).
  t.equal(signedIn.status, 200, 'the consent page');
  const consentHtml = await signedIn.text();
  t.match(consentHtml, /Allow Order Viewer to access your account\?/);
  t.match(consentHtml, /<li>See your orders<\/li>/);
  const consent = formField(consentHtml, 'consent');
  const approved = await fetch(`${gw}/oauth/authorize/consent`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ consent, decision: 'approve' }).toString(),
  });
  t.equal(approved.status, 303);
  const callback = new URL(approved.headers.get('location')!);

  // Back at the client: the code exchange (PKCE, state and RFC 9207 iss checked by openid-client).
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  t.equal(tokens.scope, 'orders:read');
  t.ok(tokens.refresh_token, 'a refresh token: the client is registered for the refresh grant');
  t.match(claimsOf(tokens.access_token), { role: 'admin', client_id: registered.client_id, scope: 'orders:read' }, "the admin's role, the client's scope");

  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${gw}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens.access_token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const refused = async (method: string, path: string, scope: string, body?: unknown) => {
    const res = await call(method, path, body);
    t.equal(res.status, 403, `${method} ${path}: 403`);
    t.match(await res.json(), { error: 'insufficient_scope' }, `${method} ${path}: insufficient_scope`);
    const challenge = res.headers.get('www-authenticate') ?? '';
    t.match(challenge, /^Bearer\b.*error="insufficient_scope"/, `${method} ${path}: a Bearer challenge`);
    t.match(challenge, new RegExp(`scope="${scope}"`), `${method} ${path}: names ${scope}`);
  };

  // What orders:read reaches.
  t.equal((await call('GET', '/orders')).status, 200, 'GET /orders');

  // What it does not: the admin's role is no help without the scopes.
  const victim = await fetch(`${gw}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'victim@example.com', password: 'victim password 1' }) });
  const victimId = ((await victim.json()) as { id: string }).id;
  await refused('GET', '/admin/users', 'admin');
  await refused('PATCH', `/admin/users/${victimId}`, 'admin', { role: 'admin' });
  await refused('GET', '/auth/me', 'account');
  await refused('GET', '/auth/sessions', 'account');
  // These two are refused by the gateway's per-route scopes (orders:write, notifications:read).
  await refused('POST', '/orders', 'orders:write', { item: 'something the viewer may not order', quantity: 1 });
  await refused('GET', '/notifications', 'notifications:read');

  // Its refresh token is no cookie for /auth/refresh, and survives being tried there.
  const cookieRefresh = await fetch(`${gw}/auth/refresh`, { method: 'POST', headers: { cookie: `refresh_token=${tokens.refresh_token!}` } });
  t.equal(cookieRefresh.status, 401);
  t.match(await cookieRefresh.json(), { error: 'invalid_grant' });
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
  t.equal(refreshed.scope, 'orders:read', 'refreshed by its own client, with the same scope');
  t.equal((await fetch(`${gw}/orders`, { headers: { authorization: `Bearer ${refreshed.access_token}` } })).status, 200);
  const wider = await client.refreshTokenGrant(config, refreshed.refresh_token!, { scope: 'orders:read orders:write' }).then(
    () => 'granted',
    (error: unknown) => (error instanceof client.ResponseBodyError ? error.error : String(error)),
  );
  t.equal(wider, 'invalid_scope', 'a refresh never widens');

  // The same admin signed in to the first-party web client has what a login grants.
  const login = await fetch(`${gw}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }) });
  const own = ((await login.json()) as { access_token: string }).access_token;
  t.equal((await fetch(`${gw}/admin/users`, { headers: { authorization: `Bearer ${own}` } })).status, 200, 'the first-party token reaches /admin/users');
  t.equal((await fetch(`${gw}/auth/me`, { headers: { authorization: `Bearer ${own}` } })).status, 200, 'and /auth/me');
});
