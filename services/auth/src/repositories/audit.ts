/** Audit log writes. Callers pass ids and context only: never passwords, tokens or key material. */
import type { Db } from './schema.js';

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
  | 'authorization_code_replay'
  | 'oauth_token_revoked';

export interface AuditEntry {
  event: AuditEvent;
  userId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('auth.audit_events')
    .values({
      event: entry.event,
      user_id: entry.userId ?? null,
      session_id: entry.sessionId ?? null,
      ip: entry.ip ?? null,
      user_agent: entry.userAgent ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}
