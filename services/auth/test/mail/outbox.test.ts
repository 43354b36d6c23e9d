/**
 * The mail outbox with two auth instances sharing one database (real PostgreSQL when DATABASE_URL
 * is set, one embedded PGlite otherwise): while the SMTP server is stopped, a registration and a
 * password reset succeed and their mails wait (mail_outbox_pending, failures counted, retried with
 * backoff); once it is back, every mail arrives exactly once, though both instances send.
 */
import { test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { openEmbeddedPglite } from '@keygate/db';
import { createTestEnvironment, scrapeMetrics, startCaptureSmtp } from '@keygate/testing';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { queueMail, retryDelayMs } from '../../src/mail/service.js';
import { PASSWORD, http, mailedToken, sleep, uniqueEmail, waitFor } from '../helpers.js';

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

test('retry delays double from MAIL_RETRY_MIN_MS up to MAIL_RETRY_MAX_MS, with at most 10 % jitter', async (t) => {
  const policy = { retryMinMs: 1_000, retryMaxMs: 300_000 };
  t.same([1, 2, 3, 4].map((n) => retryDelayMs(n, policy, () => 0)), [1_000, 2_000, 4_000, 8_000]);
  t.equal(retryDelayMs(40, policy, () => 0), 300_000, 'capped');
  t.equal(retryDelayMs(1, policy, () => 1), 1_100, 'jitter adds up to 10 %');
});

test('SMTP down: requests succeed, mail waits, then arrives exactly once from two instances', async (t) => {
  const smtp = await startCaptureSmtp();
  t.teardown(() => smtp.stop());
  await smtp.stop();
  const environment = await createTestEnvironment({ SMTP_URL: smtp.url, MAIL_POLL_MS: '50', MAIL_RETRY_MIN_MS: '50', MAIL_RETRY_MAX_MS: '400', RATE_LIMIT_REGISTER_PER_IP: '1000' });
  // One embedded database for both instances when no real PostgreSQL is set.
  const pglite = environment.env.DATABASE_URL === undefined ? await openEmbeddedPglite() : undefined;
  const apps: FastifyInstance[] = [];
  t.teardown(async () => {
    for (const app of apps) await app.close();
    await pglite?.close();
    await environment.cleanup();
  });
  for (const name of ['auth-a', 'auth-b']) {
    const app = await build(loadConfig({ ...environment.env, INSTANCE_NAME: name }), pglite ? { pglite } : {});
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
  }
  const [a, b] = apps.map((app) => {
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    return `http://127.0.0.1:${address.port}`;
  }) as [string, string];

  const email = uniqueEmail('outage');
  t.equal((await http(a, 'POST', '/auth/register', { json: { email, password: PASSWORD } })).status, 201, 'registration succeeds while SMTP is down');
  t.equal((await http(b, 'POST', '/auth/password-reset', { json: { email } })).status, 202, 'so does a reset request, on the other instance');
  // A burst of mail, so both instances find due messages at the same moments.
  const burst = Array.from({ length: 30 }, (_, i) => `burst-${i}-${process.pid}@example.com`);
  for (const to of burst) await queueMail(apps[0]!.authContext.db, { kind: 'test', to, subject: 'burst', text: 'burst', html: '<p>burst</p>' });

  const failures = async () => metric(await scrapeMetrics(apps[0]!), 'mail_send_failures_total') + metric(await scrapeMetrics(apps[1]!), 'mail_send_failures_total');
  t.ok(await waitFor(async () => (await failures()) >= 4, 10_000), 'sends fail and are retried while SMTP is down');
  t.equal(metric(await scrapeMetrics(apps[1]!), 'mail_outbox_pending'), 32, 'mail_outbox_pending counts every waiting mail, on either instance');
  t.equal(smtp.mails.length, 0);

  await smtp.start();
  const expected = 32;
  t.ok(await waitFor(() => smtp.mails.length >= expected, 15_000), 'every mail arrives once SMTP is back');
  await sleep(1_500);
  t.equal(smtp.mails.length, expected, 'and no mail arrives twice');
  t.equal(new Set(smtp.mails.map((m) => m.messageId)).size, expected, 'every Message-ID once');
  t.same(smtp.mails.filter((m) => m.to.includes(email)).map((m) => m.subject).sort(), ['Confirm your email address', 'Reset your password']);
  t.same(new Set(smtp.mails.flatMap((m) => m.to).filter((to) => to.startsWith('burst-'))), new Set(burst));
  t.equal(metric(await scrapeMetrics(apps[0]!), 'mail_outbox_pending'), 0, 'the outbox is empty');
  const sent = metric(await scrapeMetrics(apps[0]!), 'mail_sent_total') + metric(await scrapeMetrics(apps[1]!), 'mail_sent_total');
  t.equal(sent, expected, 'mail_sent_total over both instances adds up');

  const bodies = await sql<{ n: string }>`select count(*) as n from auth.mail_outbox where sent_at is not null and (text_body <> '' or html_body <> '')`.execute(apps[0]!.authContext.db);
  t.equal(Number(bodies.rows[0]!.n), 0, 'a sent mail keeps no body (its single-use link) in the database');

  const reset = smtp.mails.find((m) => m.to.includes(email) && m.subject === 'Reset your password')!;
  t.equal((await http(a, 'POST', '/auth/password-reset/confirm', { json: { token: mailedToken(reset, 'reset_password'), new_password: 'after the outage' } })).status, 204, 'the delayed link works');
});
