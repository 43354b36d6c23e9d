/**
 * The mail sender, as a fastify plugin that stops with the app: with SMTP_URL set, it looks for
 * due mail every MAIL_POLL_MS (and at once when this instance queued one: `ctx.mail.wake()`),
 * claims it and hands it to nodemailer. Without SMTP_URL (development only: production refuses to
 * start) nothing is sent and the mail stays in the outbox for the gateway's /dev/mailbox.
 * `mail_outbox_pending` is registered either way.
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { createTransport } from 'nodemailer';
import type { AuthContext } from '../context.js';
import { createMailMetrics } from './metrics.js';
import { sendDueMail, type MailTransport, type SendPolicy } from './service.js';

/** nodemailer gives up on a dead server within these; the lease below must outlast them all. */
const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;
const LEASE_SECONDS = 120;
const BATCH = 20;

export interface MailSenderOptions {
  ctx: AuthContext;
}

/** nodemailer over SMTP_URL; the outbox id becomes the Message-ID, so a receiver can tell a repeat. */
export function smtpTransport(smtpUrl: string, from: string, messageIdDomain: string): MailTransport & { close(): void } {
  const mailer = createTransport({ url: smtpUrl, connectionTimeout: CONNECTION_TIMEOUT_MS, greetingTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: SOCKET_TIMEOUT_MS });
  return {
    async send(message) {
      await mailer.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: `<keygate-${message.id}@${messageIdDomain}>` });
    },
    close: () => mailer.close(),
  };
}

const mailSenderPlugin: FastifyPluginAsync<MailSenderOptions> = async (app, { ctx }) => {
  const { config, db } = ctx;
  const metrics = createMailMetrics(app.metrics.registry, db);
  const host = new URL(config.issuer).hostname;
  const transport = config.smtpUrl === undefined ? undefined : smtpTransport(config.smtpUrl, config.mailFrom ?? `keygate <no-reply@${host}>`, host);
  if (transport === undefined) {
    app.log.info({}, 'SMTP_URL is not set: mail stays in the outbox (GET /dev/mailbox on the gateway)');
    return;
  }
  const policy: SendPolicy = { leaseSeconds: LEASE_SECONDS, batch: BATCH, retryMinMs: config.mailRetryMinMs, retryMaxMs: config.mailRetryMaxMs };

  let stopped = false;
  let again = false;
  let running: Promise<void> | undefined;
  const drain = async (): Promise<void> => {
    do {
      again = false;
      const outcome = await sendDueMail(db, transport, policy);
      metrics.sent.inc(outcome.sent);
      if (outcome.transientFailures > 0) metrics.failures.inc({ kind: 'transient' }, outcome.transientFailures);
      if (outcome.permanentFailures > 0) metrics.failures.inc({ kind: 'permanent' }, outcome.permanentFailures);
      if (outcome.transientFailures + outcome.permanentFailures > 0) app.log.warn({ ...outcome }, 'mail sends failed');
      if (outcome.more) again = true;
    } while (again && !stopped);
  };
  /** One pass at a time; a wake during a pass makes it go round once more. */
  const wake = (): void => {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => app.log.error({ err }, 'mail sender failed'))
      .finally(() => {
        running = undefined;
      });
  };
  ctx.mail = { wake };
  const timer = setInterval(wake, config.mailPollMs);
  timer.unref();
  wake();
  app.addHook('onClose', async () => {
    stopped = true;
    clearInterval(timer);
    // A send in flight finishes (or times out) and is settled before the database closes.
    await running;
    transport.close();
  });
};

// fastify-plugin: the gauge and the onClose hook belong to the app.
export const mailSender = fp(mailSenderPlugin, { name: 'mail-sender' });
