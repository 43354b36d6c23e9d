/** The mail outbox's metrics: read at scrape time from the table, so every instance reports the same backlog. */
import { Gauge, type Counter, type Registry } from 'prom-client';
import { counter } from '@keygate/service-kit';
import type { Db } from '../db/schema.js';
import { countPendingMail } from './repository.js';

export interface MailMetrics {
  sent: Counter;
  failures: Counter<'kind'>;
}

export function createMailMetrics(registry: Registry, db: Db): MailMetrics {
  new Gauge({
    name: 'mail_outbox_pending',
    help: 'Mails in the outbox not yet accepted by the SMTP server (nor refused for good). Growing: SMTP is down or too slow.',
    registers: [registry],
    async collect() {
      // A scrape during a database outage keeps the last value rather than failing the whole page.
      await countPendingMail(db).then((n) => this.set(n), () => undefined);
    },
  });
  return {
    sent: counter(registry, 'mail_sent_total', 'Mails the SMTP server accepted (this instance).'),
    failures: counter(registry, 'mail_send_failures_total', 'Failed sends by kind: transient (retried with backoff) or permanent (SMTP 5xx, given up).', ['kind']),
  };
}
