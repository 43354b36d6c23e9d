/**
 * The mail outbox: other features queue a message inside their own transaction (so it commits
 * with the change that caused it, and is never lost while SMTP is down); the sender
 * (sender-plugin.ts) hands due messages to the SMTP server. Each message is claimed by one sender
 * at a time (repository.ts), so several auth instances send it once.
 */
import type { MailboxEntry } from '@keygate/internal-api';
import type { Db, MailOutboxRow } from '../db/schema.js';
import { claimDueMail, deleteMailTo, deleteSettledMail, insertMail, latestMail, settleMail, type NewMail } from './repository.js';

export type { NewMail } from './repository.js';

/** Queues one message; call inside the transaction of the change it reports. */
export function queueMail(db: Db, mail: NewMail): Promise<string> {
  return insertMail(db, mail);
}

/** What the sender needs to deliver one message; nodemailer's transport in production. */
export interface MailTransport {
  send(message: { id: string; to: string; subject: string; text: string; html: string }): Promise<void>;
}

export interface SendPolicy {
  /** Claim length: longer than one send can take (the transport's own timeouts), so no second sender starts it meanwhile. */
  leaseSeconds: number;
  batch: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export interface SendOutcome {
  sent: number;
  transientFailures: number;
  permanentFailures: number;
  /** A full batch was claimed: more may be due. */
  more: boolean;
}

/** Doubling from retryMinMs, capped at retryMaxMs, with up to 10 % jitter so instances do not retry in step. */
export function retryDelayMs(attempts: number, policy: Pick<SendPolicy, 'retryMinMs' | 'retryMaxMs'>, random = Math.random): number {
  const base = Math.min(policy.retryMaxMs, policy.retryMinMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(base * (1 + 0.1 * random()));
}

/** SMTP answered 5xx: the server refused this message for good (bad address, policy); retrying would not help. */
function isPermanent(error: unknown): boolean {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}

/** Claims due messages and sends them one by one; a failure is retried later or given up, never lost. */
export async function sendDueMail(db: Db, transport: MailTransport, policy: SendPolicy): Promise<SendOutcome> {
  const claimed = await claimDueMail(db, policy.batch, policy.leaseSeconds);
  const outcome: SendOutcome = { sent: 0, transientFailures: 0, permanentFailures: 0, more: claimed.length === policy.batch };
  for (const row of claimed) {
    const claimId = row.claim_id!;
    const id = String(row.id);
    try {
      await transport.send({ id, to: row.to_address, subject: row.subject, text: row.text_body, html: row.html_body });
    } catch (error) {
      if (isPermanent(error)) {
        await settleMail(db, id, claimId, { failed: true, error: describe(error) });
        outcome.permanentFailures += 1;
      } else {
        await settleMail(db, id, claimId, { retryInMs: retryDelayMs(row.attempts, policy), error: describe(error) });
        outcome.transientFailures += 1;
      }
      continue;
    }
    await settleMail(db, id, claimId, { sent: true });
    outcome.sent += 1;
  }
  return outcome;
}

/** The newest messages first, for the development mailbox (GET /internal/mailbox's wire shape). */
export async function mailbox(db: Db, limit = 50): Promise<MailboxEntry[]> {
  const rows: MailOutboxRow[] = await latestMail(db, limit);
  return rows.map((row) => ({
    id: String(row.id),
    to: row.to_address,
    subject: row.subject,
    text: row.text_body,
    created_at: new Date(row.created_at).toISOString(),
    sent_at: row.sent_at === null ? null : new Date(row.sent_at).toISOString(),
  }));
}

/** Days sent and failed mail stay in the outbox (addresses and subjects, for support), then go. */
const SETTLED_MAIL_DAYS = 7;

export function purgeSettledMail(db: Db): Promise<void> {
  return deleteSettledMail(db, SETTLED_MAIL_DAYS);
}

/** An account deletion's part of the outbox: every mail to the account's address, sent or not, is deleted. */
export function forgetMailTo(db: Db, address: string): Promise<void> {
  return deleteMailTo(db, address);
}
