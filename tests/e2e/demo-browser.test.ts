/// <reference lib="dom" />
// The demo page in a real headless Chromium (Debian's package, driven by playwright-core): the
// whole journey a person takes, with the browser-side security properties checked on the way —
// the refresh token never readable by script, no token in storage, the DOM or a URL — and a
// screenshot of each step in test-artifacts/demo/.
import { test, type Test } from 'tap';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumSkip as skip, openDemoPage, shot } from './helpers.js';

/** Everything script and storage can see must be free of tokens. */
async function assertNoTokenExposed(t: Test, page: Page, context: BrowserContext, label: string) {
  const exposed = await page.evaluate(() => ({
    cookie: document.cookie,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
    html: document.documentElement.outerHTML,
    url: location.href,
  }));
  t.notMatch(exposed.cookie, /refresh_token/, `${label}: document.cookie does not show the refresh token`);
  t.equal(exposed.local, '{}', `${label}: localStorage is empty`);
  t.equal(exposed.session, '{}', `${label}: sessionStorage is empty`);
  t.notMatch(exposed.html, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, `${label}: no JWT in the DOM`);
  t.notMatch(exposed.url, /token|eyJ/i, `${label}: no token in the URL`);
  const cookies = await context.cookies();
  const refresh = cookies.find((c) => c.name === 'refresh_token');
  if (refresh) {
    t.ok(refresh.httpOnly, `${label}: refresh cookie is HttpOnly`);
    t.equal(refresh.sameSite, 'Strict', `${label}: refresh cookie is SameSite=Strict`);
    t.equal(refresh.path, '/auth', `${label}: refresh cookie is scoped to /auth`);
  }
}

test('the demo page journey in headless Chromium', { skip, timeout: 240_000 }, async (t) => {
  // The page is opened at the issuer's origin: cookie-authenticated calls are checked against it.
  const { browser, origin, context: first, page, requestedUrls } = await openDemoPage(t);
  await shot(page, '01-signed-out');

  await page.getByLabel('Email').fill('dana@example.com');
  await page.getByLabel('Password (8 to 256 characters)').fill('a long enough password');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  t.equal(await page.locator('#me-email').textContent(), 'dana@example.com', 'who am I shows the account');
  await shot(page, '02-registered-and-signed-in');
  await assertNoTokenExposed(t, page, first, 'after login');

  await page.getByLabel('Item').fill('mechanical keyboard');
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.locator('#orders li', { hasText: 'mechanical keyboard' }).waitFor();
  await page.locator('#notifications li[data-type="order_placed"]').first().waitFor({ timeout: 5_000 });
  t.pass('the order is listed and its notification arrived');
  await shot(page, '03-order-and-notification');

  await page.reload();
  await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  t.equal(await page.locator('#me-email').textContent(), 'dana@example.com', 'still signed in after a reload (silent refresh through the cookie)');
  await assertNoTokenExposed(t, page, first, 'after reload');
  await shot(page, '04-after-reload');

  // A second browser (another device) signs in, sees two sessions, and logs out everywhere.
  const second = await browser.newContext();
  const other = await second.newPage();
  await other.goto(`${origin}/`);
  await other.getByRole('status').filter({ hasText: /^Not signed in\.$/ }).waitFor();
  await other.getByLabel('Email').fill('dana@example.com');
  await other.getByLabel('Password (8 to 256 characters)').fill('a long enough password');
  await other.getByRole('button', { name: 'Log in' }).click();
  await other.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  t.equal(await other.locator('#sessions li').count(), 2, 'the second browser lists both sessions');
  await shot(other, '05-second-browser-sessions');
  await other.getByRole('button', { name: 'Log out everywhere' }).click();
  await other.getByRole('status').filter({ hasText: 'Logged out everywhere.' }).waitFor();
  await shot(other, '06-second-browser-logged-out-everywhere');

  // The first browser is signed out at its next request, without a reload. That request is
  // its notification poll (every 1.5 s) or an order placed now, whichever comes first: a test
  // that first fills the order form races the poll, which hides the form when it signs out.
  const orderForm = page.getByLabel('Item');
  if (await orderForm.isVisible()) {
    await orderForm.fill('another item', { timeout: 2_000 }).catch(() => {});
    await page.getByRole('button', { name: 'Place order' }).click({ timeout: 2_000 }).catch(() => {});
  }
  await page.getByRole('status').filter({ hasText: 'You were signed out' }).waitFor({ timeout: 5_000 });
  t.ok(await page.locator('#signed-out').isVisible(), 'the first browser shows the sign-in form again');
  await shot(page, '07-first-browser-signed-out');

  // Sessions: log in twice more, revoke the other session from the list.
  await page.getByLabel('Email').fill('dana@example.com');
  await page.getByLabel('Password (8 to 256 characters)').fill('a long enough password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  await other.reload();
  await other.getByLabel('Email').fill('dana@example.com');
  await other.getByLabel('Password (8 to 256 characters)').fill('a long enough password');
  await other.getByRole('button', { name: 'Log in' }).click();
  await other.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  await page.reload();
  await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  await page.getByRole('button', { name: /^Revoke the other session/ }).first().click();
  await page.getByRole('status').filter({ hasText: 'Session revoked.' }).waitFor();
  await shot(page, '08-revoked-other-session');
  await other.getByLabel('Item').fill('should fail');
  await other.getByRole('button', { name: 'Place order' }).click();
  await other.getByRole('status').filter({ hasText: 'You were signed out' }).waitFor({ timeout: 5_000 });
  t.pass('the revoked session is signed out at its next request');

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.getByRole('status').filter({ hasText: /^Logged out\.$/ }).waitFor();
  await page.reload();
  await page.getByRole('status').filter({ hasText: /^Not signed in\.$/ }).waitFor();
  t.pass('after logout a reload does not restore the session');
  await shot(page, '09-logged-out');

  t.notOk(requestedUrls.some((u) => /token=|eyJ/.test(u)), 'no request URL carried a token');
});
