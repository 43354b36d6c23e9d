/** The mail outbox table (migration 0007): plain functions over kysely; only mail/service.ts calls them. */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, MailOutboxRow } from '../db/schema.js';
import { dbNow } from '../db/sql-time.js';

export interface NewMail {
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export async function insertMail(db: Db, mail: NewMail): Promise<string> {
  const row = await db
    .insertInto('auth.mail_outbox')
    .values({ kind: mail.kind, to_address: mail.to, subject: mail.subject, text_body: mail.text, html_body: mail.html })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

/**
 * Claims up to `limit` due messages for `leaseSeconds`: rows another sender holds are skipped
 * (FOR UPDATE SKIP LOCKED while the claim commits, `claimed_until` after it), so each message is
 * in one sender's hands at a time; a claim whose sender died runs out with its lease. `attempts`
 * counts the claim, so the backoff after a failure grows with it.
 */
export async function claimDueMail(db: Db, limit: number, leaseSeconds: number): Promise<MailOutboxRow[]> {
  const claimId = randomUUID();
  const result = await sql<MailOutboxRow>`
    update auth.mail_outbox
       set claim_id = ${claimId}, claimed_until = now() + make_interval(secs => ${leaseSeconds}), attempts = attempts + 1
     where id in (
       select id from auth.mail_outbox
        where sent_at is null and failed_at is null and next_attempt_at <= now()
          and (claimed_until is null or claimed_until < now())
        order by next_attempt_at, id
        limit ${limit}
        for update skip locked)
    returning *`.execute(db);
  return result.rows;
}

type Settlement = { sent: true } | { retryInMs: number; error: string } | { failed: true; error: string };

/**
 * Settles a claimed message: sent, due again after a delay, or given up (a permanent refusal).
 * Only the holder of the claim does: a sender whose lease ran out changes nothing.
 */
export async function settleMail(db: Db, id: string, claimId: string, outcome: Settlement): Promise<void> {
  const released = { claim_id: null, claimed_until: null };
  const changes =
    'sent' in outcome
      ? // The body (with its single-use link) has no use once the SMTP server has it: kept out of the database.
        { ...released, sent_at: dbNow(), last_error: null, text_body: '', html_body: '' }
      : 'failed' in outcome
        ? { ...released, failed_at: dbNow(), last_error: outcome.error }
        : { ...released, next_attempt_at: sql<Date>`now() + make_interval(secs => ${outcome.retryInMs / 1000})`, last_error: outcome.error };
  await db.updateTable('auth.mail_outbox').set(changes).where('id', '=', id).where('claim_id', '=', claimId).execute();
}

/** Messages not yet sent nor given up on. */
export async function countPendingMail(db: Db): Promise<number> {
  const row = await db
    .selectFrom('auth.mail_outbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('sent_at', 'is', null)
    .where('failed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function latestMail(db: Db, limit: number): Promise<MailOutboxRow[]> {
  return db.selectFrom('auth.mail_outbox').selectAll().orderBy('id', 'desc').limit(limit).execute();
}

/** Sent or given-up mail older than `days`: history only, deleted by the periodic purge. */
export async function deleteSettledMail(db: Db, days: number): Promise<void> {
  const cutoff = sql<Date>`now() - make_interval(days => ${days})`;
  await db.deleteFrom('auth.mail_outbox').where((eb) => eb.or([eb('sent_at', '<', cutoff), eb('failed_at', '<', cutoff)])).execute();
}

/** Deletes every mail to `address` (an account deletion: the outbox must not keep the address). */
export async function deleteMailTo(db: Db, address: string): Promise<void> {
  await db.deleteFrom('auth.mail_outbox').where('to_address', '=', address).execute();
}
