/// <reference lib="dom" />
// What a real browser sends to the cookie calls and the sign-in form, in headless Chromium
// (Debian's package, driven by playwright-core): the demo page keeps its session across a reload
// at both loopback names of the gateway (development trusts localhost ↔ 127.0.0.1 on the same
// port), and a form posted to the sign-in from another origin — another site or only another
// port — is refused.
import { test } from 'tap';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { inCi } from '@keygate/testing';
import { startTestStack } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !inCi ? `Chromium not installed at ${CHROMIUM} (apt-get install chromium)` : false;

test('the demo page and the sign-in form in headless Chromium', { skip, timeout: 240_000 }, async (t) => {
  // ISSUER names localhost, as the default does; `pnpm start` prints 127.0.0.1.
  const { stack, environment } = await startTestStack({ issuerHost: 'localhost' });
  const port = new URL(environment.gatewayUrl).port;
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // A page of another origin that posts a sign-in form to the gateway as soon as it loads.
  const attacker = createServer((request, response) => {
    const target = new URL(request.url ?? '/', 'http://x').searchParams.get('target') ?? '';
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><form method="post" action="${target}/oauth/authorize">
<input name="request" value="x"><input name="email" value="victim@example.com"><input name="password" value="guessed password">
</form><script>document.forms[0].submit()</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  t.teardown(async () => {
    await browser.close();
    await new Promise((resolve) => attacker.close(resolve));
    await stack.close();
    await environment.cleanup();
  });

  for (const host of ['127.0.0.1', 'localhost']) {
    await t.test(`the demo page at http://${host}:<port> keeps its session across a reload`, async (t) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const refreshes: number[] = [];
      page.on('response', (response) => {
        if (response.url().endsWith('/auth/refresh')) refreshes.push(response.status());
      });
      await page.goto(`http://${host}:${port}/`);
      await page.getByRole('status').filter({ hasText: /^Not signed in\.$/ }).waitFor();
      await page.getByLabel('Email').fill(`reload-${host}@example.com`);
      await page.getByLabel('Password (8 to 256 characters)').fill('a long enough password');
      await page.getByRole('button', { name: 'Register' }).click();
      await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
      await page.reload();
      await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
      t.equal(await page.locator('#me-email').textContent(), `reload-${host}@example.com`, 'still signed in after the reload');
      t.ok(refreshes.includes(200), `the silent refresh succeeded (${refreshes.join(', ')})`);
      t.notOk(refreshes.includes(403), 'never refused for its origin');
      await context.close();
    });
  }

  for (const [what, gateway] of [
    ['another site (127.0.0.1 → localhost)', `http://localhost:${port}`],
    ['another port of the same host (same-site, cross-origin)', `http://127.0.0.1:${port}`],
  ] as const) {
    await t.test(`a sign-in form posted from ${what} is refused`, async (t) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const answer = page.waitForResponse((response) => response.url() === `${gateway}/oauth/authorize` && response.request().method() === 'POST');
      await page.goto(`${attackerUrl}/?target=${encodeURIComponent(gateway)}`);
      const response = await answer;
      t.equal(response.status(), 403, 'refused');
      t.same(await response.json(), { error: 'invalid_origin', error_description: 'Requests from this origin are not allowed.' });
      const sent = await response.request().allHeaders();
      t.equal(sent.origin, attackerUrl, 'Chromium named the posting page’s origin');
      await context.close();
    });
  }
});
