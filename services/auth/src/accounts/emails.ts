/** Emails are compared in one canonical form: trimmed, Unicode NFC, lowercase. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}
