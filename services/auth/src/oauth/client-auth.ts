/**
 * Client authentication for /oauth/token, /oauth/revoke and /oauth/introspect (RFC 6749 §2.3):
 * client_secret_basic (RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic), client_secret_post,
 * or none (client_id only) for public clients. One method per request. The one function every
 * /oauth endpoint calls.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../context.js';
import { clientSecretMatches, findClient } from './clients.js';
import type { OAuthClientRow } from '../db/schema.js';
import { OAuthErrors } from './errors.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface AuthenticatedClient {
  client: OAuthClientRow;
  method: ClientAuthMethod;
}

interface ClientParams {
  client_id?: string;
  client_secret?: string;
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

function basicCredentials(header: string): { id: string; secret: string } {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match) throw OAuthErrors.invalidClient('The Authorization header must be "Basic <credentials>".');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw OAuthErrors.invalidClient('The Basic credentials are malformed.');
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw OAuthErrors.invalidClient('The Basic credentials are malformed.');
  }
}

export async function authenticateClient(ctx: Pick<AuthContext, 'db'>, request: FastifyRequest, params: ClientParams): Promise<AuthenticatedClient> {
  const header = request.headers.authorization;
  let id: string;
  let secret: string | undefined;
  let method: ClientAuthMethod;
  if (typeof header === 'string') {
    if (params.client_secret !== undefined) throw OAuthErrors.invalidRequest('Use one client authentication method, not both Basic and client_secret.');
    ({ id, secret } = basicCredentials(header));
    if (params.client_id !== undefined && params.client_id !== id) throw OAuthErrors.invalidClient('client_id does not match the Basic credentials.');
    method = 'client_secret_basic';
  } else if (params.client_id !== undefined) {
    id = params.client_id;
    secret = params.client_secret;
    method = secret === undefined ? 'none' : 'client_secret_post';
  } else {
    throw OAuthErrors.invalidClient('Client authentication is required.');
  }
  const client = id.length <= 100 ? await findClient(ctx.db, id) : undefined;
  if (!client) throw OAuthErrors.invalidClient();
  if (client.public) {
    // A public client has no secret to present: anything but `none` is a confused client. An
    // empty secret is no secret (simple-oauth2 and others send `client_secret=` or `id:` in Basic).
    if (method !== 'none' && secret !== '') throw OAuthErrors.invalidClient('This is a public client: send client_id only.');
    return { client, method: 'none' };
  }
  if (secret === undefined || !clientSecretMatches(client, secret)) throw OAuthErrors.invalidClient();
  return { client, method };
}
