/** Trust between the gateway and the services behind it: sign a proof of origin, check it. */
export {
  signGatewayProof,
  verifyGatewayProof,
  PROOF_HEADER,
  USER_ID_HEADER,
  USER_ROLE_HEADER,
  CLIENT_ID_HEADER,
  USER_SCOPE_HEADER,
  REQUEST_ID_HEADER,
  TRUSTED_HEADER_NAMES,
  DEFAULT_PROOF_WINDOW_MS,
  type ProofClaims,
  type ProofCheck,
  type ProofFailure,
} from './proof.js';
export { IDENTITY_HEADERS } from './headers.js';
export { gatewayTrust, untrustedRequest, type GatewayTrustOptions, type GatewayUser } from './plugin.js';
export { ReplayGuard } from './replay-guard.js';
export { GATEWAY_CALLER_ROLE, internalCallHeaders } from './internal-call.js';
