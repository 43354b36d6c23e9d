/**
 * The one writer of audit rows. Feature services call it (inside their transaction when the row
 * must commit with the change); routes never do. Callers pass ids and context only: never
 * passwords, tokens or key material.
 */
import type { Db } from '../db/schema.js';
import { insertAuditEvent, removeEmailFromAuditDetails, type AuditEntry } from './repository.js';

export type { AuditEntry, AuditEvent } from './repository.js';

export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await insertAuditEvent(db, entry);
}

/**
 * An account deletion keeps the user's audit rows (the security record) but not their email:
 * removed from every row's details. The rows keep the user id, which names nobody once the user
 * row is gone.
 */
export async function forgetEmailInAudit(db: Db, userId: string): Promise<void> {
  await removeEmailFromAuditDetails(db, userId);
}
