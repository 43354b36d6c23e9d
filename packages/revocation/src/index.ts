/**
 * @keygate/revocation: the revocation wire format (channel, expiring set, kinds, encoding) shared by
 * the auth service that publishes revocations and the gateways that enforce them, and the in-memory
 * list a gateway enforces them from.
 */
export {
  REVOCATION_CHANNEL,
  REVOCATION_SET,
  REVOCATION_TYPES,
  encodeRevocationMessage,
  isRevocationType,
  parseRevocationMember,
  parseRevocationMessage,
  publishedAt,
  revocationMember,
  type Revocation,
  type RevocationType,
} from './wire.js';
export { RevocationList, type RevocableClaims } from './list.js';
