/**
 * The internal API between the auth service and the gateway: the /internal/* routes auth serves
 * and only the gateway calls, with its own proof (@keygate/gateway-trust's internalCallHeaders;
 * the gateway never routes /internal). Services never import each other, so the paths and the
 * answers' shapes both sides must agree on live here: auth answers with the schemas of
 * `@keygate/internal-api/schemas`, the gateway reads these types. The revocation entries' member
 * encoding itself is @keygate/revocation's.
 */
import type { Static } from '@sinclair/typebox';
import type * as schemas from './schemas.js';

/** Every revocation that can still matter, from PostgreSQL: a gateway's list while Redis cannot give it. */
export const INTERNAL_REVOCATIONS_PATH = '/internal/revocations';
/** The development mailbox's source (the gateway's GET /dev/mailbox); absent in production. */
export const INTERNAL_MAILBOX_PATH = '/internal/mailbox';
/** The browser origins of public clients, for the gateway's CORS on the token endpoints. */
export const INTERNAL_CORS_ORIGINS_PATH = '/internal/cors-origins';

export type RevocationEntry = Static<typeof schemas.RevocationEntry>;
export type RevocationsResponse = Static<typeof schemas.RevocationsResponse>;
export type MailboxEntry = Static<typeof schemas.MailboxEntry>;
export type MailboxResponse = Static<typeof schemas.MailboxResponse>;
export type CorsOriginsResponse = Static<typeof schemas.CorsOriginsResponse>;
