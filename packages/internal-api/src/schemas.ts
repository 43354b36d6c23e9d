/**
 * The answers of the auth service's /internal/* routes as TypeBox schemas: auth declares them as
 * its response schemas (fastify serialises by them, so nothing else leaves), and the types the
 * gateway reads are derived from them (index.ts). Kept apart from index.ts so the gateway, which
 * only needs the types and paths, never loads TypeBox.
 */
import { Type } from '@sinclair/typebox';

/**
 * One revocation in the expiring set's form: `member` is `<type>:<id>` exactly as written to the
 * Redis set `revoked` (@keygate/revocation), `until` the epoch ms its tokens stop verifying. Kinds
 * are not enumerated here so a new one reaches gateways without a schema change; the gateway
 * parses members with the same function it uses for the set and ignores unknown kinds.
 */
export const RevocationEntry = Type.Object(
  { member: Type.String({ minLength: 3, maxLength: 300 }), until: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
/** GET /internal/revocations. */
export const RevocationsResponse = Type.Object({ revocations: Type.Array(RevocationEntry) }, { additionalProperties: false });

/** One message of the development mailbox; times are ISO 8601, `sent_at` null while it is kept in the outbox. */
export const MailboxEntry = Type.Object(
  {
    id: Type.String(),
    to: Type.String(),
    subject: Type.String(),
    text: Type.String(),
    created_at: Type.String(),
    sent_at: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
/** GET /internal/mailbox (development only): the newest mail first. */
export const MailboxResponse = Type.Object({ messages: Type.Array(MailboxEntry) }, { additionalProperties: false });

/** GET /internal/cors-origins: origins (scheme://host[:port]) of public clients' redirect URIs; the gateway widens loopback ones to any port. */
export const CorsOriginsResponse = Type.Object({ origins: Type.Array(Type.String({ minLength: 8, maxLength: 2048 })) }, { additionalProperties: false });
