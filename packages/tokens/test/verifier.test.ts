import { createHmac, createPublicKey } from 'node:crypto';
import { test } from 'tap';
import { SignJWT } from 'jose';
import { FakeJwks, ISSUER, AUDIENCE, b64, jwksVerifier as verifierFor, makeKey, mint, nowSec, rejection, signRaw } from './helpers.js';

const main = await makeKey('key-1');
const attacker = await makeKey('key-1');

test('a valid RS256 access token yields its claims', async (t) => {
  const jwks = new FakeJwks(main);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks);
  t.equal(await verifierKeys.start(), true);
  const token = await mint(main, { claims: { sub: 'u-42', role: 'admin', sid: 's-9' } });
  const claims = await verifier.verify(token);
  t.match(claims, { iss: ISSUER, sub: 'u-42', role: 'admin', sid: 's-9', aud: AUDIENCE, client_id: 'web' });
  t.ok(Object.isFrozen(claims));
  // The second time comes from the fast path and is the same frozen object.
  t.equal(await verifier.verify(token), claims);
  t.equal(verifier.stats().cachedTokens, 1);
});

test('every forgery is refused with its own code', async (t) => {
  const jwks = new FakeJwks(main);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { refetchCooldownMs: 60_000 });
  await verifierKeys.start();
  const good = await mint(main);
  const [h, p, s] = good.split('.') as [string, string, string];
  const header = { alg: 'RS256', typ: 'at+jwt', kid: 'key-1' };
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const pem = createPublicKey({ key: main.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hsInput = `${b64({ ...header, alg: 'HS256' })}.${p}`;
  const hs256 = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`;
  // The signature of a 2048-bit key is 342 base64url characters: the last one carries 4 unused bits.
  const lastChar = s[s.length - 1]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(lastChar) ^ 1]!;
  const attackerJwk = { ...attacker.publicJwk };

  const cases: Array<[string, string | Promise<string>, string]> = [
    ['alg none, no signature', `${b64({ ...header, alg: 'none' })}.${p}.`, 'token_malformed'],
    ['alg none with a dummy signature', `${b64({ ...header, alg: 'none' })}.${p}.${b64('x')}`, 'alg_mismatch'],
    ['HS256 signed with the RSA public key', hs256, 'alg_mismatch'],
    ['unknown kid', mint(attacker, { header: { kid: 'other-key' } }), 'kid_unknown'],
    ['path-like kid', mint(main, { header: { kid: '../../../dev/null' } }), 'kid_invalid'],
    ['absolute path kid', mint(main, { header: { kid: '/etc/passwd' } }), 'kid_invalid'],
    ['embedded jwk of the signer', mint(attacker, { header: { jwk: attackerJwk } }), 'header_forbidden'],
    ['jku to another key set', mint(attacker, { header: { jku: 'https://evil.test/jwks.json' } }), 'header_forbidden'],
    ['x5u to another key', mint(attacker, { header: { x5u: 'https://evil.test/cert.pem' } }), 'header_forbidden'],
    ['x5c chain', mint(attacker, { header: { x5c: ['MIIB'] } }), 'header_forbidden'],
    ['crit extension', signRaw(main, { ...header, crit: ['exp'], exp: 1 }, payload), 'header_forbidden'],
    ['zip (compressed payload)', signRaw(main, { ...header, zip: 'DEF' }, payload), 'header_forbidden'],
    ['b64 false (unencoded payload)', signRaw(main, { ...header, b64: false }, payload), 'header_forbidden'],
    ['signed by another key under the same kid', mint(attacker), 'signature_invalid'],
    ['typ JWT', mint(main, { header: { typ: 'JWT' } }), 'typ_invalid'],
    ['no typ', mint(main, { header: { typ: undefined } }), 'typ_invalid'],
    ['expired', mint(main, { claims: { exp: nowSec() - 120, iat: nowSec() - 1000 } }), 'expired'],
    ['nbf in the future', mint(main, { claims: { nbf: nowSec() + 120 } }), 'not_yet_valid'],
    ['iat in the future', mint(main, { claims: { iat: nowSec() + 120 } }), 'not_yet_valid'],
    ['wrong iss', mint(main, { claims: { iss: 'https://evil.test' } }), 'issuer_invalid'],
    ['wrong aud', mint(main, { claims: { aud: 'other-api' } }), 'audience_invalid'],
    ['no sub', mint(main, { omit: ['sub'] }), 'claims_invalid'],
    ['no jti', mint(main, { omit: ['jti'] }), 'claims_invalid'],
    ['no role', mint(main, { omit: ['role'] }), 'claims_invalid'],
    ['no exp', mint(main, { omit: ['exp'] }), 'claims_invalid'],
    ['no client_id (RFC 9068 requires it)', mint(main, { omit: ['client_id'] }), 'claims_invalid'],
    ['client_id with a line break', mint(main, { claims: { client_id: 'web\r\nx-client-id: other' } }), 'claims_invalid'],
    ['scope not a string', mint(main, { claims: { scope: ['admin'] } }), 'claims_invalid'],
    ['scope with a line break', mint(main, { claims: { scope: 'orders:read\r\nx-user-scope: admin' } }), 'claims_invalid'],
    ['role with a line break', mint(main, { claims: { role: 'user\r\nx-user-role: admin' } }), 'claims_invalid'],
    ['tampered payload', `${h}.${b64({ ...payload, role: 'admin' })}.${s}`, 'signature_invalid'],
    ['stripped signature', `${h}.${p}.`, 'token_malformed'],
    ['two segments', `${h}.${p}`, 'token_malformed'],
    ['four segments', `${good}.${s}`, 'token_malformed'],
    ['garbage base64', '!!!.###.$$$', 'token_malformed'],
    ['padding', `${h}.${p}.${s}==`, 'token_malformed'],
    ['whitespace', `${h}.${p} .${s}`, 'token_malformed'],
    ['standard base64 alphabet', `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}${s.includes('-') || s.includes('_') ? '' : '+'}`, 'token_malformed'],
    ['non-canonical trailing bits', `${h}.${p}.${s.slice(0, -1)}${sibling}`, 'token_malformed'],
    ['header not JSON', `${b64('not json')}.${p}.${s}`, 'header_invalid'],
    ['a 100 KB token', `${h}.${'A'.repeat(100_000)}.${s}`, 'token_too_large'],
  ];
  for (const [name, token, code] of cases) {
    t.equal(await rejection(verifier.verify(await token)), code, name);
  }
  // The honest token still passes, and no forgery was cached.
  t.equal((await verifier.verify(good)).sub, 'user-1');
  t.equal(verifier.stats().cachedTokens, 1);
});

test('the algorithm is pinned per kid from the JWKS, not from the token', async (t) => {
  const ps = await makeKey('ps-key', 'PS256');
  const jwks = new FakeJwks(main, ps);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { algorithms: ['RS256', 'PS256'] });
  await verifierKeys.start();
  t.equal((await verifier.verify(await mint(ps))).sub, 'user-1');
  // An RS256 signature by the same RSA key, claiming RS256 for the PS256 kid: refused.
  const rsWithPsKey = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'x', role: 'user', jti: 'j', iat: nowSec(), exp: nowSec() + 60 })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'ps-key' })
    .sign(ps.privateKey as never)
    .catch(() => undefined);
  if (rsWithPsKey) t.equal(await rejection(verifier.verify(rsWithPsKey)), 'alg_mismatch');
  // A verifier that accepts RS256 only ignores the PS256 key altogether.
  const { verifier: strict, keys: strictKeys } = verifierFor(t, jwks);
  await strictKeys.start();
  t.equal(await rejection(strict.verify(await mint(ps))), 'kid_unknown');
});

test('clock skew of up to 30 s is tolerated, and no more', async (t) => {
  const jwks = new FakeJwks(main);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks);
  await verifierKeys.start();
  t.equal((await verifier.verify(await mint(main, { claims: { exp: nowSec() - 10 } }))).sub, 'user-1');
  t.equal((await verifier.verify(await mint(main, { claims: { nbf: nowSec() + 10, iat: nowSec() + 10 } }))).sub, 'user-1');
  t.equal(await rejection(verifier.verify(await mint(main, { claims: { exp: nowSec() - 40 } }))), 'expired');
  t.throws(() => verifierFor(t, jwks, { clockToleranceSec: 31 }), RangeError);
});

test('the fast path still checks expiry on every call', async (t) => {
  const jwks = new FakeJwks(main);
  let clock = nowSec();
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { now: () => clock, clockToleranceSec: 0 });
  await verifierKeys.start();
  const token = await mint(main, { claims: { iat: clock, exp: clock + 60 } });
  t.equal((await verifier.verify(token)).sub, 'user-1');
  clock += 59;
  t.equal((await verifier.verify(token)).sub, 'user-1');
  clock += 1;
  t.equal(await rejection(verifier.verify(token)), 'expired');
});

test('unknown kid: one refetch per cooldown, and a rotated key is picked up without a restart', async (t) => {
  const next = await makeKey('key-2');
  const jwks = new FakeJwks(main);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { refetchCooldownMs: 300 });
  await verifierKeys.start();
  t.equal(jwks.calls, 1);
  // Not long after the start-up fetch: an unknown kid does not refetch yet.
  t.equal(await rejection(verifier.verify(await mint(next))), 'kid_unknown');
  t.equal(jwks.calls, 1);
  await new Promise((resolve) => setTimeout(resolve, 350));
  // A burst of unknown kids after the cooldown makes exactly one fetch.
  const forged = await Promise.all(['a', 'b', 'c', 'd'].map((kid) => mint(next, { header: { kid } })));
  t.same(await Promise.all(forged.map((token) => rejection(verifier.verify(token)))), ['kid_unknown', 'kid_unknown', 'kid_unknown', 'kid_unknown']);
  t.equal(jwks.calls, 2);
  // The issuer publishes key-2; the first token signed with it triggers the refetch that finds it.
  jwks.set(main, next);
  await new Promise((resolve) => setTimeout(resolve, 350));
  t.equal((await verifier.verify(await mint(next))).sub, 'user-1');
  t.equal(jwks.calls, 3);
});

test('with the JWKS endpoint down, cached keys keep verifying new tokens', async (t) => {
  const jwks = new FakeJwks(main);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { refetchCooldownMs: 0 });
  await verifierKeys.start();
  jwks.down = true;
  t.equal(await verifierKeys.refresh(), false);
  t.equal((await verifier.verify(await mint(main))).sub, 'user-1');
  t.equal(await rejection(verifier.verify(await mint(main, { header: { kid: 'other' } }))), 'kid_unknown');
});

test('a key withdrawn from the JWKS stops its cached tokens; an unchanged refresh does not', async (t) => {
  const next = await makeKey('key-2');
  const jwks = new FakeJwks(main, next);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { refetchCooldownMs: 60_000 });
  await verifierKeys.start();
  const token = await mint(main);
  await verifier.verify(token);
  // Same keys re-served with a new ETag: the cached entry survives (no re-verification needed).
  jwks.set(main, next);
  t.equal(await verifierKeys.refresh(), true);
  t.equal(verifier.stats().cachedTokens, 1);
  t.equal((await verifier.verify(token)).sub, 'user-1');
  jwks.set(next);
  t.equal(await verifierKeys.refresh(), true);
  t.equal(await rejection(verifier.verify(token)), 'kid_unknown');
});

test('a JWKS that was never loaded answers jwks_unavailable, not invalid token', async (t) => {
  const jwks = new FakeJwks(main);
  jwks.down = true;
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { refetchCooldownMs: 0 });
  t.equal(await verifierKeys.start(), false);
  t.equal(verifierKeys.loaded, false);
  t.equal(await rejection(verifier.verify(await mint(main))), 'jwks_unavailable');
  jwks.down = false;
  t.equal((await verifier.verify(await mint(main))).sub, 'user-1');
  t.equal(verifierKeys.loaded, true);
});

test('JWKS entries without alg, with a foreign use, or with a weak key are ignored', async (t) => {
  const events: string[] = [];
  const jwks = new FakeJwks(main);
  const { alg: _alg, ...noAlg } = main.publicJwk;
  jwks.keys = [{ ...noAlg, kid: 'no-alg' }, { ...main.publicJwk, kid: 'enc', use: 'enc' }, { ...main.publicJwk, kid: 'hs', alg: 'HS256' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'oct', alg: 'RS256' }, main.publicJwk];
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { onEvent: (event) => event.type === 'key_ignored' && events.push(event.kid ?? '') });
  await verifierKeys.start();
  t.same(events, ['no-alg', 'enc', 'hs', 'oct']);
  t.equal(verifierKeys.stats().keys, 1);
  t.equal(await rejection(verifier.verify(await mint(main, { header: { kid: 'no-alg' } }))), 'kid_unknown');
});

test('the LRU keeps at most cacheSize tokens', async (t) => {
  const jwks = new FakeJwks(main);
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { cacheSize: 3 });
  await verifierKeys.start();
  for (let i = 0; i < 5; i++) await verifier.verify(await mint(main));
  t.equal(verifier.stats().cachedTokens, 3);
});

test('the fast path: a repeat is answered from the cache with every per-request check; any other token is judged in full', async (t) => {
  const next = await makeKey('key-2');
  const jwks = new FakeJwks(main, next);
  let clock = nowSec();
  const { verifier, keys: verifierKeys } = verifierFor(t, jwks, { now: () => clock, clockToleranceSec: 0, refetchCooldownMs: 60_000 });
  await verifierKeys.start();
  const token = await mint(main, { claims: { sub: 'cached-user', iat: clock, exp: clock + 60 } });

  const first = verifier.check(token);
  t.ok(first instanceof Promise, 'never seen: verified in full, asynchronously');
  const claims = await first;
  t.equal(verifier.check(token), claims, 'a repeat: the same claims, synchronously');

  // The attack: once a valid token is cached, a tampered or forged one next to it.
  const [h, p, s] = token.split('.') as [string, string, string];
  const elevated = Buffer.from(JSON.stringify({ ...(JSON.parse(Buffer.from(p, 'base64url').toString()) as object), role: 'admin' })).toString('base64url');
  t.equal(await rejection(verifier.verify(`${h}.${elevated}.${s}`)), 'signature_invalid', 'a tampered payload after a valid token is refused');
  t.equal(await rejection(verifier.verify(await mint(attacker))), 'signature_invalid', 'a token signed by another key is refused');
  t.equal(await rejection(verifier.verify(`${token} `)), 'token_malformed', 'not the same text, not the same token');
  t.equal(verifier.check(token), claims, 'the valid token is still known afterwards');

  // Time is checked on every cache hit.
  clock += 60;
  t.throws(() => verifier.check(token), { code: 'expired' }, 'an expired token stops at the cache');
  t.equal(await rejection(verifier.verify(token)), 'expired');
  clock -= 60;

  // A key withdrawn from the JWKS stops its cached token as well.
  jwks.set(next);
  t.equal(await verifierKeys.refresh(), true);
  const afterWithdrawal = verifier.check(token);
  t.ok(afterWithdrawal instanceof Promise, 'the cache no longer answers for a withdrawn key');
  await t.rejects(afterWithdrawal as Promise<unknown>, { code: 'kid_unknown' });
  t.equal(await rejection(verifier.verify(token)), 'kid_unknown');
});

test('revokeKey: tokens of a revoked kid are refused at once, cached ones included, whatever a stale JWKS lists', async (t) => {
  const next = await makeKey('key-2');
  const jwks = new FakeJwks(main);
  const { verifier, keys } = verifierFor(t, jwks, { refetchCooldownMs: 60_000 });
  await keys.start();
  const token = await mint(main);
  t.equal((await verifier.verify(token)).sub, 'user-1', 'verified, and now cached');
  t.equal(verifier.check(token), verifier.check(token), 'answered from the cache');
  const callsBefore = jwks.calls;

  // The issuer switched to key-2, but this JWKS source has not reloaded yet: it still lists key-1.
  t.equal(keys.revokeKey(main.kid, Date.now() + 60_000), true);
  t.equal(await rejection(verifier.verify(token)), 'key_revoked', 'the cached token is refused');
  t.equal(await rejection(verifier.verify(await mint(main))), 'key_revoked', 'a new token of that key is refused');
  t.ok(jwks.calls > callsBefore, 'the JWKS was refetched at once, cooldown or not');
  t.equal(await rejection(verifier.verify(token)), 'key_revoked', 'the stale JWKS did not bring the key back');
  t.equal(keys.stats().keys, 0);

  // The replacement appears in the JWKS: its first token refetches at once despite the 60 s cooldown.
  jwks.set(main, next);
  t.equal((await verifier.verify(await mint(next))).sub, 'user-1', 'the new key verifies');
  t.equal(await rejection(verifier.verify(token)), 'key_revoked', 'and the revoked one stays refused');
  const fetches = jwks.calls;
  for (let i = 0; i < 5; i++) t.equal(await rejection(verifier.verify(await mint(main))), 'key_revoked');
  t.equal(jwks.calls, fetches, 'tokens of a revoked kid never cost a JWKS fetch');
  t.equal(keys.revokeKey(main.kid, Date.now() + 60_000), false, 'announcing the same revocation again is a no-op');
  t.equal(jwks.calls, fetches, 'and refetches nothing');
});

test('revokeKey: the refusal ends at untilMs, and an already-ended one is ignored', async (t) => {
  const jwks = new FakeJwks(main);
  const { verifier, keys } = verifierFor(t, jwks, { refetchCooldownMs: 0 });
  await keys.start();
  const token = await mint(main);
  t.equal(keys.revokeKey(main.kid, Date.now() - 1), false);
  t.equal((await verifier.verify(token)).sub, 'user-1', 'an expired revocation changes nothing');
  keys.revokeKey(main.kid, Date.now() + 150);
  t.equal(await rejection(verifier.verify(token)), 'key_revoked');
  await new Promise((resolve) => setTimeout(resolve, 200));
  // The issuer would no longer list it by now; this one still does, so it verifies again.
  t.equal((await verifier.verify(token)).sub, 'user-1', 'after untilMs the kid is judged by the JWKS again');
});

test("the JWKS is refreshed as often as its max-age says, so a key published max-age ahead is known before it signs", async (t) => {
  const current = await makeKey('current-key');
  const next = await makeKey('next-key');
  const jwks = new FakeJwks(current);
  jwks.maxAgeSeconds = 1;
  // A long unknown-kid cooldown and a long background interval: only max-age can bring the key in time.
  const { verifier, keys } = verifierFor(t, jwks, { refetchCooldownMs: 600_000, refreshIntervalMs: 300_000 });
  await keys.start();
  t.equal(await rejection(verifier.verify(await mint(current))), 'accepted');
  jwks.set(current, next); // the issuer publishes the next key max-age ahead of signing with it
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const callsBefore = jwks.calls;
  t.equal(await rejection(verifier.verify(await mint(next))), 'accepted', 'the first token of the new key passes without an unknown-kid fetch');
  t.equal(jwks.calls, callsBefore, 'no fetch on the request path');

  // Without max-age the background interval rules, and the cooldown keeps a new kid out for now.
  const plain = new FakeJwks(current);
  const other = verifierFor(t, plain, { refetchCooldownMs: 600_000, refreshIntervalMs: 300_000 });
  await other.keys.start();
  plain.set(current, next);
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.equal(await rejection(other.verifier.verify(await mint(next))), 'kid_unknown', 'no max-age: still unknown within the cooldown');
});
