/**
 * The product's scopes (contract, "Authorization: clients, scopes, first-party"): the one list the
 * auth service grants from and the gateway's route table is checked against, so a typo in either
 * is caught where it is written rather than as a route nobody can reach.
 */

/** The caller's own account endpoints under /auth/* (me, sessions, password, logout-all). */
export const ACCOUNT_SCOPE = 'account';
/** /admin/*, and only for users whose role is admin. */
export const ADMIN_SCOPE = 'admin';

/** Scopes only first-party clients may be registered with (and so ever be granted). */
export const FIRST_PARTY_SCOPES: readonly string[] = [ACCOUNT_SCOPE, ADMIN_SCOPE];

/** The sample services' resource scopes. */
export const RESOURCE_SCOPES: readonly string[] = ['orders:read', 'orders:write', 'notifications:read', 'notifications:write'];

/** OpenID Connect's scopes. */
export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email'];

/**
 * Each scope in plain words, for the consent page (what a person is asked to allow). Every known
 * scope has one; a test checks the two lists agree.
 */
export const SCOPE_DESCRIPTIONS: ReadonlyMap<string, string> = new Map([
  ['account', 'Manage your account: see your sessions, change your password, sign you out'],
  ['admin', 'Administer every user of this service'],
  ['orders:read', 'See your orders'],
  ['orders:write', 'Place orders in your name'],
  ['notifications:read', 'Read your notifications'],
  ['notifications:write', 'Mark your notifications as read'],
  ['openid', 'Know who you are on this service (your account id)'],
  ['profile', 'See your basic profile'],
  ['email', 'See your email address and whether it is verified'],
]);

/** Every scope the product knows; anything else in a registration or a route table is refused. */
export const KNOWN_SCOPES: ReadonlySet<string> = new Set([...FIRST_PARTY_SCOPES, ...RESOURCE_SCOPES, ...OIDC_SCOPES]);

/**
 * What a first-party sign-in (`/auth/login`, the refresh cookie) is granted: the account and every
 * resource scope, plus `admin` for admins. A refresh keeps the session's scope, never this list's.
 */
export function firstPartySessionScope(role: string): string {
  const scopes = [ACCOUNT_SCOPE, ...RESOURCE_SCOPES];
  if (role === 'admin') scopes.push(ADMIN_SCOPE);
  return scopes.join(' ');
}

/** The scope tokens of a token's space-separated `scope` claim (none for an absent claim). */
export function scopeSet(scope: string | undefined | null): ReadonlySet<string> {
  return new Set(scope ? scope.split(' ').filter((token) => token !== '') : []);
}

/** True when `granted` holds every scope in `needed`. */
export function hasScopes(granted: ReadonlySet<string>, needed: readonly string[]): boolean {
  return needed.every((scope) => granted.has(scope));
}
