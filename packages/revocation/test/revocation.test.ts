// The revocation wire format and the in-memory list: every kind parses from a message and from an
// expiring-set member, the old messages still parse, garbage is ignored, and each kind refuses
// exactly the tokens it names.
import { test } from 'tap';
import { RevocationList, encodeRevocationMessage, parseRevocationMember, parseRevocationMessage, publishedAt, revocationMember, REVOCATION_TYPES } from '../src/index.js';

const until = Date.now() + 60_000;

test('messages of every kind parse; the old format (no `at`) still does', async (t) => {
  for (const type of ['session', 'token', 'client', 'key'] as const) {
    t.same(parseRevocationMessage(JSON.stringify({ type, id: 'abc', until, at: 1 })), { type, id: 'abc', until }, type);
  }
  t.same(parseRevocationMessage(JSON.stringify({ type: 'session', id: 's-1', until })), { type: 'session', id: 's-1', until }, 'a message of an older auth service');
  t.equal(publishedAt(JSON.stringify({ type: 'client', id: 'c', until, at: 1234 })), 1234);
  t.equal(publishedAt(JSON.stringify({ type: 'client', id: 'c', until })), undefined);
});

test('garbage is ignored', async (t) => {
  const bad = [
    'not json',
    'null',
    '[]',
    '"session"',
    JSON.stringify({ type: 'user', id: 'u', until }),
    JSON.stringify({ type: 'Key', id: 'k', until }),
    JSON.stringify({ type: '__proto__', id: 'k', until }),
    JSON.stringify({ type: 'client', id: '', until }),
    JSON.stringify({ type: 'client', id: 7, until }),
    JSON.stringify({ type: 'key', id: 'k'.repeat(257), until }),
    JSON.stringify({ type: 'key', id: 'k', until: '1' }),
    JSON.stringify({ type: 'client', id: 'c' }),
  ];
  for (const message of bad) t.equal(parseRevocationMessage(message), undefined, message.slice(0, 40));
  for (const member of ['client', 'client:', 'user:1', 'constructor:x', ':x', `key:${'k'.repeat(257)}`]) {
    t.equal(parseRevocationMember(member, until), undefined, member.slice(0, 40));
  }
});

test('expiring-set members of every kind parse, ids with colons included', async (t) => {
  t.same(parseRevocationMember('session:s-1', until), { type: 'session', id: 's-1', until });
  t.same(parseRevocationMember('token:j-1', until), { type: 'token', id: 'j-1', until });
  t.same(parseRevocationMember('client:0123abcd', until), { type: 'client', id: '0123abcd', until });
  t.same(parseRevocationMember('key:kid:with:colons', until), { type: 'key', id: 'kid:with:colons', until });
});

test('each kind refuses exactly the tokens it names, until `until`', async (t) => {
  const now = Date.now();
  const list = new RevocationList();
  const service = { jti: 'j-service', client_id: 'svc' };
  const user = { sid: 's-1', jti: 'j-user', client_id: 'keygate-web' };
  t.notOk(list.isRevoked(service, now));
  t.notOk(list.isRevoked(user, now));

  t.ok(list.add({ type: 'client', id: 'svc', until: now + 1_000 }, now));
  t.ok(list.isRevoked(service, now), 'a client_credentials token (no sid) of the deleted client');
  t.ok(list.isRevoked({ jti: 'other', client_id: 'svc', sid: 's-9' }, now), 'any token of that client, with a session or not');
  t.notOk(list.isRevoked(user, now), "another client's token");
  t.notOk(list.isRevoked({ jti: 'j-x' }, now), 'a token without client_id');
  t.notOk(list.isRevoked(service, now + 1_000), 'not after until');

  t.notOk(list.add({ type: 'key', id: 'kid-1', until: now + 1_000 }, now), 'a key revocation is not held by the list (the verifier refuses the kid)');
  t.notOk(list.add({ type: 'client', id: 'old', until: now - 1 }, now), 'an expired one is dropped');
  t.equal(list.size, 1);

  list.add({ type: 'session', id: 's-1', until: now + 1_000 }, now);
  list.add({ type: 'token', id: 'j-service', until: now + 5_000 }, now);
  t.ok(list.isRevoked(user, now));
  list.prune(now + 2_000);
  t.equal(list.size, 1, 'pruned: the client and the session are over, the token is not');
  t.notOk(list.isRevoked(user, now + 2_000));
  t.ok(list.isRevoked(service, now + 2_000));
});

test('what the publisher encodes, every subscriber parses back: message and set member, every kind', async (t) => {
  for (const type of REVOCATION_TYPES) {
    const revocation = { type, id: `${type}-id`, until };
    const message = encodeRevocationMessage(revocation, 4321);
    t.same(parseRevocationMessage(message), revocation, `${type} message`);
    t.equal(publishedAt(message), 4321, `${type} carries its publish time`);
    t.equal(revocationMember(revocation), `${type}:${type}-id`);
    t.same(parseRevocationMember(revocationMember(revocation), until), revocation, `${type} member`);
  }
  // An id with a colon survives the member round trip (only the first colon separates the kind).
  t.same(parseRevocationMember(revocationMember({ type: 'client', id: 'a:b' }), until), { type: 'client', id: 'a:b', until });
  // The attack: an id crafted to look like JSON keys must not smuggle another kind or expiry in.
  const crafted = encodeRevocationMessage({ type: 'token', id: '","type":"key","until":1,"x":"', until }, 1);
  t.same(parseRevocationMessage(crafted), { type: 'token', id: '","type":"key","until":1,"x":"', until });
});
