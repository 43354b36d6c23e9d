/**
 * The headers that carry the identity the gateway asserts, named once: the gateway sets them
 * (services/gateway's upstream-headers.ts), the trust plugin reads them (plugin.ts), and the proof
 * covers their values (proof.ts).
 */
import { CLIENT_ID_HEADER, PROOF_HEADER, REQUEST_ID_HEADER, USER_ID_HEADER, USER_ROLE_HEADER, USER_SCOPE_HEADER } from './proof.js';

export const IDENTITY_HEADERS = {
  proof: PROOF_HEADER,
  userId: USER_ID_HEADER,
  role: USER_ROLE_HEADER,
  clientId: CLIENT_ID_HEADER,
  scope: USER_SCOPE_HEADER,
  requestId: REQUEST_ID_HEADER,
} as const;
