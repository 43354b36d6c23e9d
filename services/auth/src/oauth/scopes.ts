/** Scope strings (RFC 6749 §3.3): space-separated scope tokens, granted as requested ∩ allowed. */
import { SCOPE_TOKEN } from '../domain/clients.js';
import { OAuthErrors } from './errors.js';

/** The scope tokens of a `scope` parameter; a malformed one is invalid_scope. */
export function parseScope(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const tokens = value.split(' ').filter((token) => token !== '');
  if (!tokens.every((token) => SCOPE_TOKEN.test(token))) throw OAuthErrors.invalidScope('The scope parameter is malformed.');
  return [...new Set(tokens)];
}

/**
 * What to grant: without a request, everything allowed; with one, the requested scopes that are
 * allowed (RFC 6749 §3.3 lets the server narrow, and the response then names the result). A request
 * of which nothing is allowed is invalid_scope. Returns the scope string, or null for none.
 */
export function grantScope(requested: readonly string[] | undefined, allowed: readonly string[]): string | null {
  const granted = requested === undefined ? [...allowed] : requested.filter((scope) => allowed.includes(scope));
  if (requested !== undefined && requested.length > 0 && granted.length === 0) throw OAuthErrors.invalidScope();
  return granted.length > 0 ? granted.join(' ') : null;
}
