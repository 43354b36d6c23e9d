/**
 * The OAuth client registry's rules: who may be registered with which grants and scopes, how
 * secrets are made and checked. First-party clients (the operator's own apps, `--first-party`) alone
 * may use the password grant or hold the `account` and `admin` scopes; a third-party client can
 * only ever be granted the resource and OpenID scopes it was registered with. Secrets are 256 random bits shown once; only their SHA-256 is stored (a slow
 * hash protects low-entropy passwords, which these are not; see docs/decisions-auth.md).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FIRST_PARTY_SCOPES, KNOWN_SCOPES } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import { deleteClient, findClient, insertClient, listClients, setClientSecretHash, type NewClient } from './clients.repository.js';
import type { Db, OAuthClientRow } from '../db/schema.js';
import { accessTokenWindowSeconds, publishRevocation, publishSessionRevocations, recordClientRevocation } from '../revocations/service.js';
import { revokeClientSessionsIn } from '../sessions/service.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'password'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export class ClientRegistrationError extends Error {
  override name = 'ClientRegistrationError';
}

export interface ClientSpec {
  name: string;
  grants: readonly string[];
  public: boolean;
  redirectUris: readonly string[];
  scopes: readonly string[];
  /** The operator's own application: may use the password grant and the account/admin scopes. */
  firstParty: boolean;
  /** A resource server allowed to introspect any client's tokens. */
  introspect: boolean;
  /** Where GET /oauth/logout may send the browser back to (RP-initiated logout); exact match. */
  postLogoutRedirectUris?: readonly string[];
}

export interface CreatedClient {
  client: OAuthClientRow;
  /** Shown once; undefined for public clients. */
  secret: string | undefined;
}

export function hashClientSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Absolute http(s) URI without fragment; plain http only for loopback (RFC 8252 §7.3, RFC 9700 §4.1). */
export function checkRedirectUri(uri: string): void {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new ClientRegistrationError(`redirect URI "${uri}" is not an absolute URL`);
  }
  if (parsed.hash !== '' || uri.includes('#')) throw new ClientRegistrationError(`redirect URI "${uri}" must not have a fragment`);
  if (parsed.username !== '' || parsed.password !== '') throw new ClientRegistrationError(`redirect URI "${uri}" must not carry credentials`);
  if (parsed.protocol === 'http:' && !LOOPBACK_HOSTS.has(parsed.hostname)) throw new ClientRegistrationError(`redirect URI "${uri}" must use https (http only for localhost)`);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ClientRegistrationError(`redirect URI "${uri}" must use https`);
}

/** Loopback IP literals whose port may vary (RFC 8252 §7.3); `localhost` is a name, matched exactly. */
const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]']);

/**
 * Whether a presented redirect URI matches a registered one: exactly, or for a registered
 * `http://127.0.0.1/...` or `http://[::1]/...` the same URI on any port (RFC 8252 §7.3: a native
 * app listens on whatever port it gets). Only the port may differ; the presented URI must be in
 * normal form (what the browser would be sent to is what was compared).
 */
export function redirectUriMatches(registered: string, presented: string): boolean {
  if (registered === presented) return true;
  let r: URL;
  let p: URL;
  try {
    r = new URL(registered);
    p = new URL(presented);
  } catch {
    return false;
  }
  if (r.protocol !== 'http:' || !LOOPBACK_IPS.has(r.hostname) || p.href !== presented) return false;
  const samePort = new URL(r.href);
  samePort.port = p.port;
  return samePort.href === p.href;
}

/**
 * The redirect URI a request goes back to: the presented one if it matches a registration, or the
 * only registered one when none was presented (RFC 6749 §3.1.2.3); undefined otherwise.
 */
export function resolveRedirectUri(client: Pick<OAuthClientRow, 'redirect_uris'>, presented: string | undefined): string | undefined {
  if (presented === undefined) return client.redirect_uris.length === 1 ? client.redirect_uris[0] : undefined;
  return client.redirect_uris.some((registered) => redirectUriMatches(registered, presented)) ? presented : undefined;
}

export function validateClientSpec(spec: ClientSpec): void {
  const name = spec.name.trim();
  if (name.length < 1 || name.length > 200) throw new ClientRegistrationError('the name must be 1 to 200 characters');
  if (spec.grants.length === 0) throw new ClientRegistrationError('at least one --grant is needed');
  for (const grant of spec.grants) {
    if (!(GRANT_TYPES as readonly string[]).includes(grant)) throw new ClientRegistrationError(`unknown grant "${grant}" (use ${GRANT_TYPES.join(', ')})`);
  }
  if (spec.public && spec.grants.includes('client_credentials')) throw new ClientRegistrationError('client_credentials needs a confidential client (drop --public)');
  if (!spec.firstParty && spec.grants.includes('password')) throw new ClientRegistrationError('the password grant is for first-party clients only (add --first-party)');
  if (!spec.public && spec.grants.includes('password')) throw new ClientRegistrationError('the password grant is for first-party public clients only (add --public)');
  if (spec.public && spec.introspect) throw new ClientRegistrationError('--introspect needs a confidential client (drop --public)');
  if (spec.grants.includes('authorization_code') && spec.redirectUris.length === 0) throw new ClientRegistrationError('authorization_code needs at least one --redirect-uri');
  if (!spec.grants.includes('authorization_code') && spec.redirectUris.length > 0) throw new ClientRegistrationError('--redirect-uri is only used by the authorization_code grant');
  spec.redirectUris.forEach(checkRedirectUri);
  // Same rules as redirect URIs (https, or http on loopback; no fragment, no credentials).
  (spec.postLogoutRedirectUris ?? []).forEach(checkRedirectUri);
  for (const scope of spec.scopes) {
    if (!KNOWN_SCOPES.has(scope)) throw new ClientRegistrationError(`unknown scope "${scope}" (use ${[...KNOWN_SCOPES].join(', ')})`);
    if (!spec.firstParty && FIRST_PARTY_SCOPES.includes(scope)) throw new ClientRegistrationError(`the scope "${scope}" is for first-party clients only (add --first-party)`);
  }
}

export async function createClient(db: Db, spec: ClientSpec): Promise<CreatedClient> {
  validateClientSpec(spec);
  const secret = spec.public ? undefined : generateSecret();
  // Hex: never starts with '-' (which a command line would take for an option).
  const id = randomBytes(16).toString('hex');
  const client = await insertClient(db, newClientRow(id, spec, secret === undefined ? null : hashClientSecret(secret)));
  return { client, secret };
}

/** The row a validated spec registers: lists without repeats, the name trimmed. */
export function newClientRow(id: string, spec: ClientSpec, secretHash: Buffer | null): NewClient {
  return {
    id,
    name: spec.name.trim(),
    public: spec.public,
    secretHash,
    grantTypes: [...new Set(spec.grants)],
    redirectUris: [...new Set(spec.redirectUris)],
    scopes: [...new Set(spec.scopes)],
    firstParty: spec.firstParty,
    introspect: spec.introspect,
    postLogoutRedirectUris: [...new Set(spec.postLogoutRedirectUris ?? [])],
  };
}

export { findClient, listClients };

/** A new secret for a confidential client (the old one stops working at once); undefined if none. */
export async function rotateClientSecret(db: Db, id: string): Promise<string | undefined> {
  const secret = generateSecret();
  const row = await setClientSecretHash(db, id, hashClientSecret(secret));
  return row ? secret : undefined;
}

/**
 * Deletes a client, revokes every session it holds, and revokes the client itself: every gateway
 * refuses any token issued to it (client_credentials tokens have no session to revoke) until
 * ACCESS_TOKEN_TTL + skew from now, recorded in the same transaction so it is re-announced after
 * a Redis outage. False when there was no such client.
 */
export async function removeClient(ctx: Pick<AuthContext, 'db' | 'bus' | 'config' | 'log' | 'metrics' | 'revocationResync'>, id: string): Promise<boolean> {
  const windowSeconds = accessTokenWindowSeconds(ctx.config);
  const revoked = await ctx.db.transaction().execute(async (trx) => {
    if (!(await deleteClient(trx, id))) return undefined;
    const sessions = await revokeClientSessionsIn(trx, id, 'client_deleted');
    return { sessions, untilMs: await recordClientRevocation(trx, id, windowSeconds) };
  });
  if (revoked === undefined) return false;
  await Promise.all([publishSessionRevocations(ctx, revoked.sessions), publishRevocation(ctx, 'client', id, revoked.untilMs)]);
  return true;
}

/** Equal-time comparison of a presented secret with the stored hash. */
export function clientSecretMatches(client: Pick<OAuthClientRow, 'secret_hash'>, presented: string): boolean {
  const expected = client.secret_hash;
  if (expected === null) return false;
  return timingSafeEqual(hashClientSecret(presented), expected);
}
