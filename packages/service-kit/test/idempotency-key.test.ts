/** The Idempotency-Key shape the gateway checks and orders honours: an sf-string or a bare token, one key either way. */
import { test } from 'tap';
import { IDEMPOTENCY_KEY_PATTERN, isIdempotencyKey, parseIdempotencyKey } from '../src/idempotency-key.js';

test('both forms name the same key; the quotes are not part of it', async (t) => {
  t.equal(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
  t.equal(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
  t.equal(parseIdempotencyKey('" spaced, with comma "'), ' spaced, with comma ', 'a quoted key may hold spaces and commas');
  t.equal(parseIdempotencyKey('k'.repeat(255)), 'k'.repeat(255));
  t.equal(parseIdempotencyKey(`"${'k'.repeat(255)}"`), 'k'.repeat(255));
});

test('anything else is refused', async (t) => {
  for (const value of ['', '""', '"', '"open', 'close"', '"a\\"b"', '"a\\\\b"', 'a"b', 'a b', 'a,b', 'a\\b', '\t', 'k'.repeat(256), `"${'k'.repeat(256)}"`, 'caf\u00e9', '"a"b"', 'a\nb']) {
    t.equal(parseIdempotencyKey(value), undefined, JSON.stringify(value));
    t.notOk(isIdempotencyKey(value));
  }
});

test('the schema pattern is the same rule (ajv compiles it with the unicode flag)', async (t) => {
  const pattern = new RegExp(IDEMPOTENCY_KEY_PATTERN, 'u');
  for (const value of ['"abc"', 'abc', '"a b"']) t.ok(pattern.test(value), value);
  for (const value of ['""', 'a b', '"a\\"b"']) t.notOk(pattern.test(value), value);
});
