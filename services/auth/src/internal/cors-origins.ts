/**
 * The browser origins public clients redirect to: where a single-page app runs that calls
 * /oauth/token, /oauth/revoke and /oauth/userinfo with fetch. Read from the client registry for
 * the gateway's CORS (GET /internal/cors-origins). Confidential clients are left out: their
 * secret must never be in a browser, so no browser origin of theirs needs CORS.
 */
import type { Db } from '../db/schema.js';
import { listClients } from '../oauth/clients.js';

export async function publicClientOrigins(db: Db): Promise<string[]> {
  const origins = new Set<string>();
  for (const client of await listClients(db)) {
    if (!client.public) continue;
    for (const uri of client.redirect_uris) {
      // Registered URIs were checked at registration (absolute http(s)); a row edited by hand is skipped.
      try {
        const { origin, protocol } = new URL(uri);
        if (protocol === 'https:' || protocol === 'http:') origins.add(origin);
      } catch {
        continue;
      }
    }
  }
  return [...origins].sort();
}
