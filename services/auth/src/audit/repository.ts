/** The audit_events table: one prepared insert, and the email scrub of an account deletion. Only audit/service.ts calls it. */
import { sql } from 'kysely';
import { prepared } from '../db/prepared.js';
import type { Db } from '../db/schema.js';

export type AuditEvent =
  | 'user_registered'
  | 'login_success'
  | 'login_failure'
  | 'refresh'
  | 'refresh_reuse_detected'
  | 'logout'
  | 'logout_all'
  | 'session_revoked'
  | 'password_change'
  | 'admin_user_change'
  | 'admin_bootstrap'
  | 'key_created'
  | 'key_rotation'
  | 'key_activated'
  | 'key_revoked'
  | 'authorization_code_replay'
  | 'oauth_token_revoked'
  | 'mfa_enrolled'
  | 'mfa_removed'
  | 'mfa_failed'
  | 'mfa_recovery_code_used'
  | 'account_deleted'
  | 'consent_granted'
  | 'consent_withdrawn'
  | 'rp_logout'
  | 'email_verification_sent'
  | 'email_verification_confirmed'
  | 'password_reset_requested'
  | 'password_reset_completed';

export interface AuditEntry {
  event: AuditEvent;
  userId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

// Every refresh and login writes one: prepared once (see prepared.ts).
const INSERT = prepared('insert into "auth"."audit_events" ("event", "user_id", "session_id", "ip", "user_agent", "details") values ($1, $2, $3, $4, $5, $6)');

export async function insertAuditEvent(db: Db, entry: AuditEntry): Promise<void> {
  await INSERT.run(db, [entry.event, entry.userId ?? null, entry.sessionId ?? null, entry.ip ?? null, entry.userAgent ?? null, JSON.stringify(entry.details ?? {})]);
}

/** Drops the `email` member of a user's audit rows' details (any other member is kept). */
export async function removeEmailFromAuditDetails(db: Db, userId: string): Promise<void> {
  await db
    .updateTable('auth.audit_events')
    .set({ details: sql`details - 'email'` })
    .where('user_id', '=', userId)
    .where(sql<boolean>`details ? 'email'`)
    .execute();
}
