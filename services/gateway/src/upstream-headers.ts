/**
 * What the upstream hears about the client. Every client-sent header that could assert
 * identity or gateway trust is removed — x-user-* (X-User-Scope too), x-client-id,
 * x-gateway-*, x-request-id, and the forwarding family (Forwarded, X-Forwarded-*, X-Real-IP) —
 * whatever its case and whether it is spelled with dashes, underscores or dots (some stacks map
 * `x_user_id` to X-User-Id). Hop-by-hop headers, and the names listed in Connection (already
 * dropped by reply-from before this runs), never travel. Then the gateway sets its own values,
 * once each.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { IDENTITY_HEADERS, signGatewayProof } from '@keygate/gateway-trust';
import type { AccessTokenClaims } from '@keygate/tokens';
import type { Grant } from './grant.js';
import type { Route } from './route-table.js';

const { proof: PROOF_HEADER, userId: USER_ID_HEADER, role: USER_ROLE_HEADER, clientId: CLIENT_ID_HEADER, scope: USER_SCOPE_HEADER, requestId: REQUEST_ID_HEADER } =
  IDENTITY_HEADERS;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  // Node answers 100-continue itself; undici refuses to send Expect upstream.
  'expect',
  'forwarded',
]);

/** Identity, trust and forwarding headers in any spelling: x-user…, x_client_id, x_gateway…, x.forwarded…, xrealip. */
const UNTRUSTED = /^x[-_.]?(?:user|client[-_.]?id|gateway|forwarded|real[-_.]?ip|request[-_.]?id)/;

export interface UpstreamIdentity {
  user: AccessTokenClaims | undefined;
  /** The user's client id and scope as checked by the gateway (always set with `user`). */
  grant: Grant | undefined;
  /** Path and query exactly as the upstream receives them (what the proof covers). */
  target: string;
}

export function upstreamHeaders(request: FastifyRequest, incoming: IncomingHttpHeaders, route: Route, identity: UpstreamIdentity, secret: Buffer): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || (name.charCodeAt(0) === 120 && UNTRUSTED.test(name))) continue;
    if (name === 'authorization' && !route.forwardAuthorization) continue;
    out[name] = incoming[name];
  }
  const ip = request.ip;
  out['x-forwarded-for'] = ip;
  out['x-real-ip'] = ip;
  out['x-forwarded-proto'] = request.protocol;
  out['x-forwarded-host'] = request.host;
  out[REQUEST_ID_HEADER] = request.id;
  const { user, grant } = identity;
  if (user && grant) {
    out[USER_ID_HEADER] = user.sub;
    out[USER_ROLE_HEADER] = user.role;
    out[CLIENT_ID_HEADER] = grant.clientId;
    out[USER_SCOPE_HEADER] = grant.scope;
    out[PROOF_HEADER] = signGatewayProof(secret, {
      method: request.method,
      path: identity.target,
      userId: user.sub,
      role: user.role,
      clientId: grant.clientId,
      scope: grant.scope,
      requestId: request.id,
    });
  }
  return out;
}
