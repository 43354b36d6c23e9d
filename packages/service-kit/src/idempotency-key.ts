/**
 * The `Idempotency-Key` request header (IETF httpapi draft, "The Idempotency-Key HTTP Header
 * Field"): its one accepted shape, checked by the gateway (400 before anything is forwarded) and
 * by every service route that honours it (the route's header schema), and the key it denotes.
 *
 * The draft makes the field an RFC 8941 sf-string (`Idempotency-Key: "8e03978e-…"`); Stripe-style
 * clients send a bare token (`Idempotency-Key: 8e03978e-…`). Both are accepted and denote the
 * same key, the text between the quotes: 1 to 255 printable ASCII characters, without `"` or `\`
 * (so an sf-string never needs an escape, and the key is never re-escaped on its way), and in
 * the bare form without spaces or commas either (a comma is what two joined header fields look
 * like). nginx sends `$request_id` (32 hex digits) when the client sent none.
 */

/** The request header (lower case, as Node presents it). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set to `true` on a response that repeats the one a previous request with the same key got. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';
/** The longest key, in characters (bytes: they are ASCII). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

const QUOTED = `"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}"`;
const BARE = `[\\x21\\x23-\\x2b\\x2d-\\x5b\\x5d-\\x7e]{1,${IDEMPOTENCY_KEY_MAX_LENGTH}}`;

/** The accepted header value as a JSON-schema `pattern` (for a route's `headers` schema). */
export const IDEMPOTENCY_KEY_PATTERN = `^(?:${QUOTED}|${BARE})$`;
const VALID = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** What a client is told when its header does not fit. */
export const IDEMPOTENCY_KEY_RULE =
  'Idempotency-Key must be a quoted string or a bare token of 1 to 255 printable ASCII characters, without double quotes or backslashes (and, unquoted, without spaces or commas), sent once.';

/** True when `value` (the header as received) has the accepted shape. */
export function isIdempotencyKey(value: string): boolean {
  return VALID.test(value);
}

/** The key a valid header value denotes (`"abc"` and `abc` are the same key); undefined if malformed. */
export function parseIdempotencyKey(value: string): string | undefined {
  if (!VALID.test(value)) return undefined;
  return value.charCodeAt(0) === 34 ? value.slice(1, -1) : value;
}

/** The key a request carries: its header parsed, or undefined when absent, repeated or malformed. */
export function idempotencyKeyOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const header = headers[IDEMPOTENCY_KEY_HEADER];
  return typeof header === 'string' ? parseIdempotencyKey(header) : undefined;
}
