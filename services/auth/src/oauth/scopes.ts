/**
 * Scope strings (RFC 6749 §3.3) and what an OAuth grant may give (contract, "Authorization:
 * clients, scopes, first-party"): at most the scopes the client is registered with, a request for
 * anything more is invalid_scope, and `admin` only ever reaches a user whose role is admin.
 */
import { ADMIN_SCOPE } from '@keygate/tokens';
import { OAuthErrors } from './errors.js';

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The scope tokens of a `scope` parameter; a malformed one is invalid_scope. */
export function parseScope(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const tokens = value.split(' ').filter((token) => token !== '');
  if (!tokens.every((token) => SCOPE_TOKEN.test(token))) throw OAuthErrors.invalidScope('The scope parameter is malformed.');
  return [...new Set(tokens)];
}

/**
 * The scopes a request may be given by a client's registration: without a request, everything
 * registered; with one, exactly what was asked, and asking for anything not registered is
 * invalid_scope (no silent narrowing: the client learns at once that it asked for too much).
 */
export function registeredScope(requested: readonly string[] | undefined, registered: readonly string[]): string[] {
  if (requested === undefined) return [...registered];
  if (!requested.every((scope) => registered.includes(scope))) throw OAuthErrors.invalidScope('The requested scope is not registered for this client.');
  return [...requested];
}

/**
 * What is actually granted to a token of `role`: `admin` only for admins, dropped otherwise (the
 * client asked for something it may have; this user just cannot give it). Null for nothing.
 */
export function scopeForRole(scopes: readonly string[], role: string): string | null {
  const granted = role === 'admin' ? scopes : scopes.filter((scope) => scope !== ADMIN_SCOPE);
  return granted.length > 0 ? granted.join(' ') : null;
}

/** registeredScope then scopeForRole, for grants that know the user (or service) at once. */
export function grantScope(requested: readonly string[] | undefined, registered: readonly string[], role: string): string | null {
  return scopeForRole(registeredScope(requested, registered), role);
}
