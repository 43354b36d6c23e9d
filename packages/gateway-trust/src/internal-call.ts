/**
 * A call the gateway makes on its own behalf (not a client's) to a service behind it, e.g. the
 * revocation list from auth while Redis is down. It carries an ordinary gateway proof, so the
 * receiving service checks it with the same plugin (gatewayTrust), under an identity no client
 * token can carry: role `gateway`. A service's internal route accepts only that role, so even a
 * route table that forwarded /internal to it would not let a user's request through.
 */
import { randomUUID } from 'node:crypto';
import { IDENTITY_HEADERS } from './headers.js';
import { signGatewayProof } from './proof.js';

export const GATEWAY_CALLER_ROLE = 'gateway';
const GATEWAY_CALLER_ID = 'gateway';

/** The headers of one internal call to `path` (with its query, as sent). Each call gets its own request id and proof. */
export function internalCallHeaders(secret: Buffer, method: string, path: string): Record<string, string> {
  const requestId = randomUUID();
  // No OAuth client and no scope: the gateway acts for itself. Proof v2 (branch gateway-authz)
  // covers and requires both, v1 ignores them; a claims variable (not a literal) fits either.
  const claims = { method, path, userId: GATEWAY_CALLER_ID, role: GATEWAY_CALLER_ROLE, clientId: '', scope: '', requestId };
  return {
    [IDENTITY_HEADERS.proof]: signGatewayProof(secret, claims),
    [IDENTITY_HEADERS.userId]: GATEWAY_CALLER_ID,
    [IDENTITY_HEADERS.role]: GATEWAY_CALLER_ROLE,
    [IDENTITY_HEADERS.clientId]: '',
    [IDENTITY_HEADERS.scope]: '',
    [IDENTITY_HEADERS.requestId]: requestId,
  };
}
