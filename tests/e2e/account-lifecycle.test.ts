/// <reference lib="dom" />
// An account's life on the demo page in a real headless Chromium (playwright-core): register,
// verify the address from the mail at /dev/mailbox, enrol a TOTP second factor from the QR page (the test computes the codes from the secret the
// page shows, as an authenticator app would), log out, sign in again with a code and "remember
// me", then with a recovery code without it, and delete the account. Screenshots in
// test-artifacts/demo/lifecycle-*.png. Then the forgotten password, from the page and the mailbox.
import { test } from 'tap';
import type { Page } from 'playwright-core';
import { Secret, TOTP } from 'otpauth';
import { chromiumSkip as skip, openDemoPage, openMailedResetLink, shot as screenshot } from './helpers.js';

const EMAIL = 'erin@example.com';
const PASSWORD = 'a long enough password';
const NEW_PASSWORD = 'a brand new passphrase';

const shot = (page: Page, name: string) => screenshot(page, `lifecycle-${name}`);

/** What an authenticator app shows `steps` periods from now. */
function codeAt(secret: string, steps = 0): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: Date.now() + steps * 30_000 });
}

/** Waits for the page's status line to say `text`; a timeout names what it said instead. */
async function status(page: Page, text: string | RegExp): Promise<void> {
  try {
    await page.getByRole('status').filter({ hasText: text }).waitFor({ timeout: 20_000 });
  } catch (error) {
    throw new Error(`status never said ${String(text)}; it says "${await page.getByRole('status').textContent()}"`, { cause: error });
  }
}

async function fillSignIn(page: Page, remember: boolean, password = PASSWORD): Promise<void> {
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password (8 to 256 characters)').fill(password);
  await page.getByLabel('Remember me').setChecked(remember);
  await page.getByRole('button', { name: 'Log in' }).click();
}

test('account lifecycle on the demo page: TOTP enrolment, sign-in with a code, remember me, deletion', { skip, timeout: 240_000 }, async (t) => {
  // Every password and code attempt counts against the per-account login limit (10 a minute by
  // default), and this journey makes more than ten in its minute.
  const { origin, context, page } = await openDemoPage(t, { RATE_LIMIT_LOGIN_PER_ACCOUNT: '50' });
  const refreshCookie = async () => (await context.cookies()).find((c) => c.name === 'refresh_token');

  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password (8 to 256 characters)').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register' }).click();
  await status(page, /^Signed in\.$/);
  t.equal((await refreshCookie())?.expires, -1, 'without "remember me" the refresh cookie ends with the browser session');

  // The verification mail, opened from the development mailbox.
  await page.getByRole('link', { name: 'development mailbox' }).first().click();
  await page.getByRole('heading', { name: 'Development mailbox' }).waitFor();
  await page.getByRole('link', { name: /#verify_email=/ }).first().click();
  await status(page, /^Signed in\.$/);
  await page.locator('#me-verified').filter({ hasText: 'yes' }).waitFor();
  t.pass('the address is verified from the mailed link');

  // Enrolment: the QR code and the secret, then a code from the "app".
  await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
  await status(page, 'Scan the QR code');
  t.equal(await page.locator('#mfa-qr svg').count(), 1, 'the QR code is shown as SVG');
  const secret = (await page.locator('#mfa-secret').textContent())!;
  t.match(secret, /^[A-Z2-7]{32}$/, 'and the secret, for typing in');
  await shot(page, '01-enrolment-qr');
  await page.getByLabel('Code from your app').fill('000000' === codeAt(secret) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await status(page, 'The code is wrong');
  t.ok(await page.locator('#signed-in').isVisible(), 'a wrong code does not sign the page out');
  await page.getByLabel('Code from your app').fill(codeAt(secret));
  await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
  await status(page, 'Two-factor authentication is on.');
  const recoveryCodes = await page.locator('#mfa-recovery-codes li').allTextContents();
  t.equal(recoveryCodes.length, 10, 'ten recovery codes are shown once');
  await shot(page, '02-enrolled-recovery-codes');

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await status(page, /^Logged out\.$/);

  // Sign in with the password, then the code; remembered.
  await fillSignIn(page, true);
  await status(page, 'Enter the code from your authenticator app.');
  t.ok(await page.locator('#mfa-step').isVisible(), 'the code step is shown');
  t.equal(await refreshCookie(), undefined, 'no session before the code');
  await shot(page, '03-code-step');
  await page.getByLabel('Authentication code').fill(codeAt(secret, 5));
  await page.getByRole('button', { name: 'Verify' }).click();
  await status(page, 'The code is wrong');
  // The next period's code: enrolment spent the current one (each code works once).
  await page.getByLabel('Authentication code').fill(codeAt(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await status(page, /^Signed in\.$/);
  t.equal(await page.locator('#me-email').textContent(), EMAIL);
  const remembered = await refreshCookie();
  t.ok(remembered && remembered.expires > Date.now() / 1000 + 6 * 86_400, '"remember me": a persistent cookie (Max-Age = the refresh TTL)');
  await page.reload();
  await status(page, /^Signed in\.$/);
  t.ok((await refreshCookie())!.expires > Date.now() / 1000 + 6 * 86_400, 'a refresh keeps it persistent');
  await shot(page, '04-signed-in-with-code');

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await status(page, /^Logged out\.$/);

  // A recovery code instead, not remembered.
  await fillSignIn(page, false);
  await status(page, 'Enter the code from your authenticator app.');
  await page.getByLabel('Authentication code').fill(recoveryCodes[0]!);
  await page.getByRole('button', { name: 'Verify' }).click();
  await status(page, /^Signed in\.$/);
  t.equal((await refreshCookie())?.expires, -1, 'not remembered: a browser-session cookie');
  await page.reload();
  await status(page, /^Signed in\.$/);
  t.equal((await refreshCookie())?.expires, -1, 'a refresh keeps it a session cookie');

  // A forgotten password: the reset link from the mailbox; the second factor stays on.
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await status(page, /^Logged out\.$/);
  await openMailedResetLink(page, origin, EMAIL);
  await page.getByLabel('New passphrase (8 to 256 chars)').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await status(page, 'Password changed');
  await fillSignIn(page, false, NEW_PASSWORD);
  await status(page, 'Enter the code from your authenticator app.');
  await page.getByLabel('Authentication code').fill(recoveryCodes[1]!);
  await page.getByRole('button', { name: 'Verify' }).click();
  await status(page, /^Signed in\.$/);
  t.pass('signed in with the new password and a code');
  await shot(page, '05-after-reset');

  // Delete the account.
  await page.getByLabel('Password (to delete your account)').fill('not the password');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await status(page, 'The password is wrong.');
  await page.getByLabel('Password (to delete your account)').fill(NEW_PASSWORD);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await status(page, 'Your account was deleted.');
  await shot(page, '06-deleted');
  await fillSignIn(page, false, NEW_PASSWORD);
  await status(page, 'The email or password is wrong.');
  await page.reload();
  await status(page, /^Not signed in\.$/);
  t.pass('the deleted account cannot sign in, and a reload restores nothing');
});
