/** Response schemas of the /internal/* routes (gateway-to-auth calls, never routed to clients). */
import { Type } from '@sinclair/typebox';

/**
 * One revocation in the expiring set's form: `member` is `<type>:<id>` exactly as written to the
 * Redis set `revoked`, `until` the epoch ms its tokens stop verifying. Kinds are not enumerated
 * here so a new one (added to recentRevocations) reaches gateways without a schema change; the
 * gateway parses members with the same function it uses for the set and ignores unknown kinds.
 */
export const RevocationEntry = Type.Object(
  { member: Type.String({ minLength: 3, maxLength: 300 }), until: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export const RevocationsResponse = Type.Object({ revocations: Type.Array(RevocationEntry) }, { additionalProperties: false });

/** The development mailbox: the newest mail first (GET /internal/mailbox, development only). */
export const MailboxResponse = Type.Object(
  {
    messages: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          to: Type.String(),
          subject: Type.String(),
          text: Type.String(),
          created_at: Type.String(),
          sent_at: Type.Union([Type.String(), Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
