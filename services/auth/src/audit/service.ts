/**
 * The one writer of audit rows. Feature services call it (inside their transaction when the row
 * must commit with the change); routes never do. Callers pass ids and context only: never
 * passwords, tokens or key material.
 */
import type { Db } from '../db/schema.js';
import { insertAuditEvent, type AuditEntry } from './repository.js';

export type { AuditEntry, AuditEvent } from './repository.js';

export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await insertAuditEvent(db, entry);
}
