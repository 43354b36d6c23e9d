/**
 * The grant table: every grant_type /oauth/token serves, one handler per file. The metadata's
 * grant_types_supported is read from these keys, so adding a grant here is what publishes it.
 */
import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { passwordGrant } from './password.js';
import { refreshTokenGrant } from './refresh-token.js';
import type { GrantHandler } from './types.js';

// A Map, not an object literal: `grant_type` is client input, and an object lookup would find
// inherited members (constructor, __proto__, toString) and treat them as grants. In the order the
// metadata lists them.
export const GRANTS: ReadonlyMap<string, GrantHandler> = new Map<string, GrantHandler>([
  ['authorization_code', authorizationCodeGrant],
  ['password', passwordGrant],
  ['refresh_token', refreshTokenGrant],
  ['client_credentials', clientCredentialsGrant],
]);

/** Grants switched off by configuration: `password` unless PASSWORD_GRANT_ENABLED. */
export function grantEnabled(grantType: string, config: { passwordGrantEnabled: boolean }): boolean {
  return GRANTS.has(grantType) && (grantType !== 'password' || config.passwordGrantEnabled);
}
