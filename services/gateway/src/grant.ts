/**
 * What a verified token was granted, in the form the gateway uses it: the set of scopes the route
 * table is checked against, and the client id and scope exactly as forwarded upstream
 * (X-Client-ID, X-User-Scope). Worked out once per token: the verifier hands back the same frozen
 * claims object for every request carrying that token, so a WeakMap keyed by it turns the hot path
 * into one lookup and lets the entry go with the token. A scope or client id that could not
 * travel as a header value (control characters, non-ASCII) makes the token unusable here.
 */
import { scopeSet } from '@keygate/tokens';
import type { AccessTokenClaims } from '@keygate/tokens';

export interface Grant {
  /** `client_id`, or '' when the token has none. */
  clientId: string;
  /** The `scope` claim as issued, or '' when the token has none. */
  scope: string;
  scopes: ReadonlySet<string>;
}

/** RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E, separated by single spaces. */
const SCOPE_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*$/;
const CLIENT_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
const MAX_SCOPE_LENGTH = 4096;

const grants = new WeakMap<AccessTokenClaims, Grant | null>();

function readGrant(claims: AccessTokenClaims): Grant | null {
  const scope = claims.scope ?? '';
  const clientId = claims.client_id ?? '';
  if (scope !== '' && (scope.length > MAX_SCOPE_LENGTH || !SCOPE_PATTERN.test(scope))) return null;
  if (clientId !== '' && !CLIENT_ID_PATTERN.test(clientId)) return null;
  return Object.freeze({ clientId, scope, scopes: scopeSet(scope) });
}

/** The token's grant; undefined when its scope or client id is malformed (the token is refused). */
export function grantOf(claims: AccessTokenClaims): Grant | undefined {
  let grant = grants.get(claims);
  if (grant === undefined) {
    grant = readGrant(claims);
    grants.set(claims, grant);
  }
  return grant ?? undefined;
}
