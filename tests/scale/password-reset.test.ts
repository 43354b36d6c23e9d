/**
 * Password reset across instances (2 auth processes sharing one PostgreSQL, 2 gateways, nginx):
 * the reset mail reaches a capture SMTP server in the test exactly once, also when SMTP was down
 * while it was asked for; confirming it revokes every session of the user, and each gateway
 * refuses every one of its access tokens within 1 s.
 */
import { test } from 'tap';
import { startCaptureSmtp } from '@keygate/testing';
import { call, describe, login, newCredentials, protectedGet, register, scaleSkipReason, startStack, timeUntilRefused } from './harness/index.js';

const skip = scaleSkipReason();
const TOKEN = /#reset_password=([A-Za-z0-9_-]{43})/;

test('password reset across instances', { skip }, async (t) => {
  const smtp = await startCaptureSmtp();
  t.teardown(() => smtp.stop());
  const stack = await startStack(t, { name: 'password-reset', env: { auth: { SMTP_URL: smtp.url, MAIL_POLL_MS: '100', MAIL_RETRY_MIN_MS: '100', MAIL_RETRY_MAX_MS: '500' } } });
  const [gw1, gw2] = stack.gateways;
  const credentials = newCredentials('reset');
  await register(stack.front, credentials);
  const resetMails = () => smtp.mails.filter((m) => m.to.includes(credentials.email) && m.subject === 'Reset your password');

  await t.test('SMTP down while the reset is asked for: delivered once it is back, exactly once', async (t) => {
    await smtp.stop();
    const asked = await call(stack.front, 'POST', '/auth/password-reset', { json: { email: credentials.email } });
    t.equal(asked.status, 202, describe(asked));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    t.equal(resetMails().length, 0, 'nothing could be sent yet');
    await smtp.start();
    await smtp.waitFor((m) => resetMails().includes(m), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    t.equal(resetMails().length, 1, 'one mail, though both auth instances were retrying');
  });

  await t.test('confirming revokes every session: both gateways refuse every token within 1 s', async (t) => {
    const TRIALS = 5;
    const latencies: number[] = [];
    let password = credentials.password;
    for (let trial = 0; trial < TRIALS; trial += 1) {
      const current = { ...credentials, password };
      const sessions = [await login(gw1.url, current), await login(gw2.url, current)];
      for (const session of sessions) {
        const before = await Promise.all(stack.gateways.map((gw) => protectedGet(gw.url, session.accessToken)));
        t.same(before.map((r) => r.status), [200, 200], `trial ${trial}: the token works everywhere before the reset`);
      }
      const already = resetMails().length;
      t.equal((await call(stack.front, 'POST', '/auth/password-reset', { json: { email: credentials.email } })).status, 202);
      const mail = await smtp.waitFor(() => resetMails().length > already, 10_000).then(() => resetMails().at(-1)!);
      const token = TOKEN.exec(mail.text)?.[1];
      t.ok(token, 'the mail carries a reset link');
      password = `pw-reset-${trial}-${Date.now()}`;
      const confirmed = await call(stack.front, 'POST', '/auth/password-reset/confirm', { json: { token, new_password: password } });
      t.equal(confirmed.status, 204, describe(confirmed));
      const refused = await Promise.all(sessions.map((session) => timeUntilRefused(stack.gateways.map((gw) => gw.url), session.accessToken, { timeoutMs: 2_000, pollMs: 5 })));
      latencies.push(...refused.map((ms) => ms ?? Number.POSITIVE_INFINITY));
      const again = await call(stack.front, 'POST', '/auth/password-reset/confirm', { json: { token, new_password: `${password}-again` } });
      t.equal(again.status, 400, 'the link works once');
    }
    const worst = Math.max(...latencies);
    t.comment(`tokens refused by both gateways after the reset: max ${worst.toFixed(1)} ms over ${latencies.length} sessions`);
    t.ok(worst <= 1_000, `every gateway refused every token within 1 s (max ${worst.toFixed(1)} ms)`);
  });
});
