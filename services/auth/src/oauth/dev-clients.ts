/**
 * Clients the development stack registers for its own demos (`pnpm start`: the SPA demo's
 * `keygate-spa`), under a fixed id so that every start finds the same one. Idempotent: an
 * existing client of that id is kept as it is (an operator may have changed it on purpose; the
 * start-up says so when it differs). Only the stack calls this, and never in production.
 */
import type { Db } from '../db/schema.js';
import { findClient, newClientRow, validateClientSpec, type ClientSpec } from './clients.js';
import { insertClient } from './clients.repository.js';

export type DevClientOutcome = 'created' | 'kept' | 'differs';

export async function ensureDevClient(db: Db, id: string, spec: ClientSpec): Promise<DevClientOutcome> {
  validateClientSpec(spec);
  const existing = await findClient(db, id);
  if (existing === undefined) {
    await insertClient(db, newClientRow(id, spec, null));
    return 'created';
  }
  const same = (a: readonly string[], b: readonly string[]) => [...new Set(a)].sort().join(' ') === [...new Set(b)].sort().join(' ');
  const unchanged = existing.public === spec.public && existing.first_party === spec.firstParty
    && same(existing.redirect_uris, spec.redirectUris) && same(existing.scopes, spec.scopes) && same(existing.grant_types, spec.grants)
    && same(existing.post_logout_redirect_uris, spec.postLogoutRedirectUris ?? []);
  return unchanged ? 'kept' : 'differs';
}
