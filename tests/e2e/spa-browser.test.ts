/// <reference lib="dom" />
// The SPA demo (packages/spa-demo) on its own origin, in headless Chromium (Debian's package,
// driven by playwright-core), as a person uses it: discovery and the token endpoint across
// origins (CORS at the gateway), the sign-in form and the consent step of a third-party client,
// authorization code + PKCE + OpenID Connect (nonce, ID token), /orders through the gateway, a
// refresh with the refresh_token grant, and RP-initiated logout back to the SPA. A first-party
// client gets no consent step. A POST /orders sent twice with one Idempotency-Key from the SPA's
// origin is placed once, and the page reads Idempotent-Replayed.
import { test } from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort, inCi } from '@keygate/testing';
import { startStack } from '@keygate/stack';
import { stackEnvironment } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !inCi ? `Chromium not installed at ${CHROMIUM} (apt-get install chromium)` : false;
const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../services/auth/dist/cli.js');
const EMAIL = 'spa-user@example.com';
const PASSWORD = 'a long enough password';

interface TokenAnswer {
  status: number;
  allowOrigin: string | undefined;
  body: Record<string, unknown>;
}

/** The next answer of POST /oauth/token as the page received it (start waiting before the action). */
async function nextTokenAnswer(page: Page, gateway: string): Promise<TokenAnswer> {
  const response = await page.waitForResponse((r) => r.url() === `${gateway}/oauth/token` && r.request().method() === 'POST');
  return { status: response.status(), allowOrigin: (await response.allHeaders())['access-control-allow-origin'], body: (await response.json()) as Record<string, unknown> };
}

async function signIn(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('the SPA demo on its own origin, in headless Chromium', { skip, timeout: 240_000 }, async (t) => {
  // ISSUER at localhost, the SPA at 127.0.0.1: another site, as a real SPA would be.
  const spaPort = await freePort();
  const environment = await stackEnvironment({ issuerHost: 'localhost', overrides: { SPA_DEMO_PORT: String(spaPort) } });
  t.teardown(() => environment.cleanup());
  const spa = `http://127.0.0.1:${spaPort}`;
  // A first-party public client, registered the operator's way (authctl) before the stack starts
  // (embedded PGlite allows one process at a time).
  const created = await run(
    process.execPath,
    [CLI, 'clients', 'create', '--name', 'Operator SPA', '--public', '--first-party', '--grant', 'authorization_code', '--redirect-uri', `${spa}/callback`, '--scope', 'openid', '--scope', 'orders:read', '--json'],
    { env: { ...process.env, ...environment.env } },
  );
  const firstParty = (JSON.parse(created.stdout) as { client_id: string }).client_id;
  const stack = await startStack(environment.env);
  t.teardown(() => stack.close());
  t.equal(stack.spaDemoUrl, spa, 'the stack serves the SPA demo on its own port');
  const gateway = environment.gatewayUrl;
  const registered = await fetch(`${gateway}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });
  t.equal(registered.status, 201);

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());

  await t.test('code + PKCE + OIDC, /orders, refresh, RP-initiated logout', async (t) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${spa}/`);
    await page.getByRole('status').filter({ hasText: /^Signed out\.$/ }).waitFor();
    await page.getByRole('button', { name: 'Sign in with keygate' }).click();
    await page.waitForURL((url) => url.origin === gateway && url.pathname === '/oauth/authorize');
    const authorize = new URL(page.url());
    t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'PKCE');
    t.ok(authorize.searchParams.get('nonce'), 'a nonce (OIDC)');
    t.match(authorize.searchParams.get('scope'), /\bopenid\b/);
    await signIn(page);
    // keygate-spa is third-party: the consent step names it and the scopes.
    await page.getByRole('heading', { name: /Allow keygate SPA demo/ }).waitFor();
    const exchanged = nextTokenAnswer(page, gateway);
    await page.getByRole('button', { name: 'Allow' }).click();
    const exchange = await exchanged;
    await page.getByRole('status').filter({ hasText: `Signed in as ${EMAIL}.` }).waitFor();
    t.equal(new URL(page.url()).search, '', 'the code is gone from the address bar');
    const claims = JSON.parse((await page.locator('#claims').textContent()) ?? '{}') as Record<string, unknown>;
    t.equal(claims.iss, new URL(gateway).origin, 'ID token: iss');
    t.equal(claims.aud, 'keygate-spa', 'ID token: aud');
    t.equal(claims.nonce, authorize.searchParams.get('nonce'), 'ID token: the nonce sent');
    t.ok(claims.at_hash && claims.sid && claims.auth_time, 'ID token: at_hash, sid, auth_time');
    t.equal(exchange.status, 200, 'the code exchange');
    t.equal(exchange.allowOrigin, spa, 'readable cross-origin: the gateway allowed the SPA’s origin');
    t.type(exchange.body.id_token, 'string', 'with an ID token');

    await page.getByRole('button', { name: 'GET /orders' }).click();
    await page.getByRole('status').filter({ hasText: 'GET /orders answered 200.' }).waitFor();
    const refreshed = nextTokenAnswer(page, gateway);
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    const refresh = await refreshed;
    await page.getByRole('status').filter({ hasText: 'Tokens refreshed.' }).waitFor();
    t.equal(refresh.status, 200, 'the refresh_token grant');
    t.equal(refresh.allowOrigin, spa);
    t.not(refresh.body.refresh_token, exchange.body.refresh_token, 'the refresh token rotated');
    await page.getByRole('button', { name: 'GET /orders' }).click();
    await page.getByRole('status').filter({ hasText: 'GET /orders answered 200.' }).waitFor();
    t.pass('/orders with the refreshed access token');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.origin === spa && url.pathname === '/');
    await page.getByRole('status').filter({ hasText: /^Signed out\.$/ }).waitFor();
    const refreshAfter = await fetch(`${gateway}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'keygate-spa', refresh_token: String(refresh.body.refresh_token) }),
    });
    t.equal(refreshAfter.status, 400, 'RP-initiated logout ended the session: its refresh token is refused');

    // Signing in again: the consent is remembered.
    await page.getByRole('button', { name: 'Sign in with keygate' }).click();
    await signIn(page);
    await page.getByRole('status').filter({ hasText: `Signed in as ${EMAIL}.` }).waitFor();
    t.pass('no second consent step for the same client and scopes');
    await context.close();
  });

  await t.test('a first-party client gets no consent step', async (t) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL('/oauth/authorize', gateway);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: firstParty,
      redirect_uri: `${spa}/callback`,
      scope: 'openid orders:read',
      state: 'first-party-state',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const callback = page.waitForRequest((request) => request.url().startsWith(`${spa}/callback`));
    await page.goto(url.href);
    await signIn(page);
    const arrived = new URL((await callback).url());
    t.ok(arrived.searchParams.get('code'), 'straight back to the app with a code');
    t.equal(arrived.searchParams.get('state'), 'first-party-state');
    await context.close();
  });

  // What the page's own code sends and reads across origins: a POST /orders with an
  // Idempotency-Key passes the gateway's preflight, a resend of it is answered from the first
  // (Idempotent-Replayed, exposed to the page by CORS), and a malformed key gets a 400 the page
  // can read. The token is the user's own from /auth/login, held by the page as a SPA holds it.
  await t.test('POST /orders from the SPA origin with an Idempotency-Key, sent twice', async (t) => {
    const loggedIn = await fetch(`${gateway}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });
    t.equal(loggedIn.status, 200);
    const { access_token: token } = (await loggedIn.json()) as { access_token: string };
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${spa}/`);
    // No named functions inside: tsx would wrap them in a helper the page does not have.
    const [first, again, malformed] = await page.evaluate(
      async ({ gateway, token }) => {
        const key = `browser-${crypto.randomUUID()}`;
        const answers: { status: number; replayed: string | null; body: Record<string, unknown> }[] = [];
        for (const sent of [key, key, 'not\tprintable']) {
          const response = await fetch(`${gateway}/orders`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': sent },
            body: JSON.stringify({ item: 'sent twice from a browser', quantity: 1 }),
          });
          answers.push({ status: response.status, replayed: response.headers.get('idempotent-replayed'), body: (await response.json()) as Record<string, unknown> });
        }
        return answers;
      },
      { gateway, token },
    );
    const answers = { first: first!, again: again!, malformed: malformed! };
    t.equal(answers.first.status, 201, 'the first POST places the order');
    t.equal(answers.first.replayed, null, 'a first answer is not a replay');
    t.equal(answers.again.status, 201, 'the resend gets the same status');
    t.equal(answers.again.replayed, 'true', 'and Idempotent-Replayed: true, readable by the page');
    t.equal(answers.again.body.id, answers.first.body.id, 'the same order, placed once');
    t.equal(answers.malformed.status, 400, 'a malformed key is refused before any service sees it');
    t.equal(answers.malformed.body.error, 'invalid_request', "and the page reads the contract's error body");
    const orders = await fetch(`${gateway}/orders`, { headers: { authorization: `Bearer ${token}` } });
    const items = (await orders.json()) as { item: string }[];
    t.equal(items.filter((order) => order.item === 'sent twice from a browser').length, 1, 'one order stored');
    await context.close();
  });
});
