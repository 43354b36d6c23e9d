/// <reference lib="dom" />
// The /oauth/authorize sign-in and consent forms in a real headless Chromium (Debian's package,
// driven by playwright-core), through the gateway: a person signs in, sees the consent page for a
// third-party client, allows it, and the client's openid-client redeems the code with its nonce.
// What Chromium really sends with the form posts is recorded (the issue: it used to post with
// `Origin: null` and be refused). A page on another site posting the same form is refused.
// Screenshots in test-artifacts/authorize/.
import { test } from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import * as client from 'openid-client';
import { startStack } from '@keygate/stack';
import { inCi } from '@keygate/testing';
import { stackEnvironment } from './helpers.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../services/auth/dist/cli.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = resolve(import.meta.dirname, '../../test-artifacts/authorize');
const skip = !existsSync(CHROMIUM) && !inCi ? `Chromium not installed at ${CHROMIUM} (apt-get install chromium)` : false;
const EMAIL = 'browser@example.com';
const PASSWORD = 'browser password 1';

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

test('sign-in and consent forms in headless Chromium', { skip, timeout: 240_000 }, async (t) => {
  // The client's callback: a loopback listener on whatever port it gets (RFC 8252 §7.3: the
  // registered http://127.0.0.1/callback matches any port). Playwright's routing does not see a
  // navigation that follows a redirect, so this is a real server.
  const callbackServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>client</title><p>back at the client</p>'));
  await new Promise<void>((listening) => callbackServer.listen(0, '127.0.0.1', listening));
  t.teardown(() => new Promise<void>((closed) => callbackServer.close(() => closed())));
  const REDIRECT = `http://127.0.0.1:${(callbackServer.address() as { port: number }).port}/callback`;
  const environment = await stackEnvironment();
  t.teardown(() => environment.cleanup());
  const created = await run(process.execPath, [CLI, 'clients', 'create', '--name', 'Browser App', '--grant', 'authorization_code', '--redirect-uri', 'http://127.0.0.1/callback', '--scope', 'openid', '--scope', 'email', '--json'], {
    env: { ...process.env, ...environment.env },
  });
  const registered = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  const stack = await startStack(environment.env);
  t.teardown(() => stack.close());
  const gw = stack.gatewayUrl;
  await fetch(`${gw}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });

  const config = await client.discovery(new URL(gw), registered.client_id, undefined, client.ClientSecretBasic(registered.client_secret), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce });

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const context = await browser.newContext();
  const posts: { url: string; headers: Record<string, string> }[] = [];
  context.on('request', (request) => {
    if (request.method() === 'POST') void request.allHeaders().then((headers) => posts.push({ url: request.url(), headers }));
  });

  const page = await context.newPage();
  await page.goto(url.href);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await shot(page, '1-sign-in');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Allow Browser App to access your account?' }).waitFor();
  t.ok(await page.getByText('See your email address and whether it is verified').isVisible(), 'the scopes in plain words');
  await shot(page, '2-consent');
  await Promise.all([page.waitForURL((current) => current.href.startsWith(`${REDIRECT}?`)), page.getByRole('button', { name: 'Allow' }).click()]);
  const landed = new URL(page.url());
  t.equal(landed.searchParams.get('state'), state);
  const tokens = await client.authorizationCodeGrant(config, landed, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  t.match(tokens.claims(), { email: EMAIL, nonce });

  const signIn = posts.find((p) => p.url === `${gw}/oauth/authorize`);
  const consent = posts.find((p) => p.url === `${gw}/oauth/authorize/consent`);
  t.ok(signIn && consent, 'both forms were posted');
  for (const [name, post] of [['sign-in', signIn], ['consent', consent]] as const) {
    t.equal(post?.headers.origin, new URL(gw).origin, `${name}: Chromium sends our real Origin (Referrer-Policy same-origin)`);
    t.equal(post?.headers['sec-fetch-site'], 'same-origin', `${name}: Sec-Fetch-Site same-origin`);
  }

  // Another site's page (answered inside the browser) posting the sign-in form (login CSRF), with
  // a real field it fetched.
  const fresh = await fetch(url, { redirect: 'manual' });
  const request = /name="request" value="([^"]+)"/.exec(await fresh.text())?.[1] ?? '';
  await context.route('http://evil.example/**', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: `<!doctype html><form method="post" action="${gw}/oauth/authorize"><input name="email" value="${EMAIL}"><input name="password" value="${PASSWORD}"><input name="request" value="${request}"><button>go</button></form>`,
    }),
  );
  const evil = await context.newPage();
  await evil.goto('http://evil.example/');
  const [refused] = await Promise.all([evil.waitForResponse(`${gw}/oauth/authorize`), evil.getByRole('button', { name: 'go' }).click()]);
  t.equal(refused.status(), 403, 'a cross-site post of the sign-in form is refused');
  t.match(await refused.json(), { error: 'invalid_origin' });
  const sent = await refused.request().allHeaders();
  t.equal(sent.origin, 'http://evil.example', 'it carried the foreign Origin');
  // Chromium sends no Sec-Fetch-* from this (not secure) page: the Origin alone refuses it.
  t.not(sent['sec-fetch-site'], 'same-origin');

  // The same post from a sandboxed frame of that site: Origin null, and no Sec-Fetch-Site saying
  // same-origin, which is why null alone is never accepted.
  const sandboxedForm = `<form method=post action=${gw}/oauth/authorize><input name=email value=${EMAIL}><input name=password value='${PASSWORD}'><input name=request value=${request}><button>go</button></form>`;
  await context.route('http://evil.example/framed', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: `<!doctype html><iframe sandbox="allow-forms" srcdoc="${sandboxedForm.replace(/"/g, '&quot;')}"></iframe>` }),
  );
  await evil.goto('http://evil.example/framed');
  const frame = evil.frames().find((f) => f !== evil.mainFrame())!;
  const [nullRequest] = await Promise.all([evil.waitForRequest(`${gw}/oauth/authorize`), frame.getByRole('button', { name: 'go' }).click()]);
  const nullHeaders = await nullRequest.allHeaders();
  t.equal(nullHeaders.origin, 'null', 'the sandboxed frame posts with Origin: null');
  t.equal(nullHeaders['sec-fetch-site'], undefined, 'and without Sec-Fetch-Site');
  // The answer lands in a frame the browser hides from Playwright (the 403 may not be framed), so
  // the exact request Chromium sent is replayed.
  const replayed = await fetch(`${gw}/oauth/authorize`, { method: 'POST', redirect: 'manual', headers: nullHeaders, body: nullRequest.postData() ?? '' });
  t.equal(replayed.status, 403, 'Origin null without Sec-Fetch-Site same-origin is refused');
  t.match(await replayed.json(), { error: 'invalid_origin' });
});
