// The development mailbox end to end, as `pnpm start` runs (no SMTP_URL): the verification and
// reset mails stay in the outbox and GET /dev/mailbox on the gateway lists them, newest first,
// with their links clickable; the links work through the gateway.
import { test } from 'tap';
import { useTestStack } from './helpers.js';

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('without SMTP_URL the gateway shows the mail at /dev/mailbox and its links work', async (t) => {
  const { stack } = await useTestStack(t);
  const gw = stack.gatewayUrl;
  const email = `mailbox-${process.pid}@example.com`;
  t.equal((await post(`${gw}/auth/register`, { email, password: 'correct horse battery' })).status, 201);
  t.equal((await post(`${gw}/auth/password-reset`, { email })).status, 202);

  let page = '';
  for (let i = 0; i < 50 && !page.includes('Reset your password'); i += 1) {
    const response = await fetch(`${gw}/dev/mailbox`);
    t.equal(response.status, 200);
    page = await response.text();
    if (!page.includes('Reset your password')) await new Promise((r) => setTimeout(r, 100));
  }
  t.match(page, /<h1>Development mailbox<\/h1>/);
  t.ok(page.indexOf('Reset your password') < page.indexOf('Confirm your email address'), 'newest first');
  const verifyLink = new RegExp(`<a href="(${gw}/#verify_email=([A-Za-z0-9_-]{43}))">`).exec(page);
  const resetLink = new RegExp(`<a href="(${gw}/#reset_password=([A-Za-z0-9_-]{43}))">`).exec(page);
  t.ok(verifyLink && resetLink, 'both links are anchors to the gateway (ISSUER)');

  t.equal((await post(`${gw}/auth/verify-email`, { token: verifyLink![2] })).status, 204, 'the verify link works through the gateway');
  t.equal((await post(`${gw}/auth/password-reset/confirm`, { token: resetLink![2], new_password: 'a brand new passphrase' })).status, 204, 'and the reset link');
  t.equal((await post(`${gw}/auth/password-reset/confirm`, { token: resetLink![2], new_password: 'a brand new passphrase' })).status, 400, 'once');

  const internal = await fetch(`${gw}/internal/mailbox`);
  t.equal(internal.status, 404, 'the auth service\'s source is never routed by the gateway');
});
