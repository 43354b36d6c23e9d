/// <reference lib="dom" />
// The demo page's account recovery in headless Chromium, as a person does it in development (no
// SMTP_URL): register, open the verify link from /dev/mailbox, then "forgot password" → the reset
// link from the mailbox → a new password → log in with it. Screenshots in test-artifacts/demo/.
import { test } from 'tap';
import { chromiumSkip as skip, openDemoPage, openMailedResetLink, shot } from './helpers.js';

test('verify the address and reset a forgotten password from the demo page', { skip, timeout: 240_000 }, async (t) => {
  const { origin, page, requestedUrls } = await openDemoPage(t);
  await page.getByLabel('Email').fill('erin@example.com');
  await page.getByLabel('Password (8 to 256 characters)').fill('the first password');
  await page.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  t.equal(await page.locator('#me-verified').textContent(), 'not yet');
  t.ok(await page.locator('#verify-note').isVisible(), 'the page says where the verify link is');
  await shot(page, 'recovery-01-unverified');

  // The mailbox, as a person opens it from the page's note.
  await page.getByRole('link', { name: 'development mailbox' }).first().click();
  await page.getByRole('heading', { name: 'Development mailbox' }).waitFor();
  await shot(page, 'recovery-02-mailbox');
  await page.getByRole('link', { name: /#verify_email=/ }).first().click();
  await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  await page.locator('#me-verified').filter({ hasText: 'yes' }).waitFor();
  t.equal(new URL(page.url()).hash, '', 'the token is taken out of the address bar');
  t.ok(await page.locator('#verify-note').isHidden(), 'the note goes once verified');

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.getByRole('status').filter({ hasText: /^Logged out\.$/ }).waitFor();
  await openMailedResetLink(page, origin, 'erin@example.com', () => shot(page, 'recovery-03-reset-asked'));
  t.equal(new URL(page.url()).hash, '', 'the reset token is taken out of the address bar');
  await page.getByLabel('New passphrase (8 to 256 chars)').fill('the second password');
  await shot(page, 'recovery-04-new-password');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();

  await page.getByLabel('Email').fill('erin@example.com');
  await page.getByLabel('Password (8 to 256 characters)').fill('the first password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('status').filter({ hasText: 'The email or password is wrong.' }).waitFor();
  t.pass('the old password no longer works');
  await page.getByLabel('Password (8 to 256 characters)').fill('the second password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('status').filter({ hasText: /^Signed in\.$/ }).waitFor();
  await shot(page, 'recovery-05-signed-in-again');
  t.notOk(
    requestedUrls.filter((u) => !u.includes('/dev/mailbox')).some((u) => /verify_email|reset_password|token=/.test(new URL(u).search + new URL(u).pathname)),
    'no request carried a mailed token in its URL',
  );
});
