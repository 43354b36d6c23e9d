/**
 * The verifier over a key source that is not HTTP (the arrangement of the auth service, whose
 * KeyStore reads its own table): exactly the rules the gateway applies over its JWKS client.
 */
import { test } from 'tap';
import { createTokenVerifier } from '../src/index.js';
import { AUDIENCE, ISSUER, MemoryKeys, makeKey, mint, nowSec, rejection, signRaw, verificationKeyOf } from './helpers.js';

const main = await makeKey('key-1');
const ps = await makeKey('ps-key', 'PS256');

function verifierOver(keys: MemoryKeys, algorithms: Array<'RS256' | 'PS256'> = ['RS256']) {
  return createTokenVerifier({ keys, issuer: ISSUER, audience: AUDIENCE, algorithms });
}

test('a key source that is not HTTP: valid tokens pass, and every rule of the gateway holds', async (t) => {
  const keys = new MemoryKeys(verificationKeyOf(main));
  const verifier = verifierOver(keys);
  const good = await mint(main, { claims: { sub: 'u-1', scope: 'account orders:read' } });
  t.match(await verifier.verify(good), { sub: 'u-1', role: 'user', client_id: 'web', scope: 'account orders:read' });
  const [h, p, s] = good.split('.') as [string, string, string];
  // A 2048-bit signature is 342 characters: the last carries 4 bits no decoder looks at. Flipping
  // the lowest leaves the decoded signature (and so its validity) unchanged: only the canonical
  // form check refuses it, which is what jose-based verifiers lack.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const flipped = `${h}.${p}.${s.slice(0, -1)}${alphabet[alphabet.indexOf(s[s.length - 1]!) ^ 1]!}`;
  t.same(Buffer.from(flipped.split('.')[2]!, 'base64url'), Buffer.from(s, 'base64url'), 'the flipped token decodes to the same signature');
  const header = { alg: 'RS256', typ: 'at+jwt', kid: 'key-1' };
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const cases: Array<[string, string | Promise<string>, string]> = [
    ['last signature character with its unused low bit flipped', flipped, 'token_malformed'],
    ['zip header member', signRaw(main, { ...header, zip: 'DEF' }, payload), 'header_forbidden'],
    ['jku header member', mint(main, { header: { jku: 'https://evil.test/jwks.json' } }), 'header_forbidden'],
    ['typ JWT', mint(main, { header: { typ: 'JWT' } }), 'typ_invalid'],
    ['unknown kid', mint(main, { header: { kid: 'other' } }), 'kid_unknown'],
    ['wrong audience', mint(main, { claims: { aud: 'other' } }), 'audience_invalid'],
    ['expired beyond the skew', mint(main, { claims: { exp: nowSec() - 40, iat: nowSec() - 900 } }), 'expired'],
    ['no client_id', mint(main, { omit: ['client_id'] }), 'claims_invalid'],
  ];
  for (const [name, token, code] of cases) t.equal(await rejection(verifier.verify(await token)), code, name);
  t.equal(keys.resolves, 1, 'only the unknown kid asked the source to reload');
});

test('the algorithm is the source\'s for the kid, and must be one the verifier accepts', async (t) => {
  const keys = new MemoryKeys(verificationKeyOf(main), verificationKeyOf(ps));
  t.equal((await verifierOver(keys, ['RS256', 'PS256']).verify(await mint(ps))).sub, 'user-1');
  t.equal(await rejection(verifierOver(keys, ['RS256']).verify(await mint(ps))), 'alg_mismatch', 'a PS256 key for an RS256-only verifier');
  const relabelled = await mint(main, { header: { kid: 'ps-key' } });
  t.equal(await rejection(verifierOver(keys, ['RS256', 'PS256']).verify(relabelled)), 'alg_mismatch', 'an RS256 token under the PS256 kid');
});

test('a key the source stops listing stops its cached tokens at once; a source never loaded is unavailable', async (t) => {
  const keys = new MemoryKeys(verificationKeyOf(main));
  const verifier = verifierOver(keys);
  const token = await mint(main);
  await verifier.verify(token);
  t.equal(verifier.stats().cachedTokens, 1);
  keys.keys.delete('key-1');
  t.equal(await rejection(verifier.verify(token)), 'kid_unknown');
  // Re-imported (a new object for the kid): the cached entry is not trusted, the token is judged afresh.
  keys.keys.set('key-1', verificationKeyOf(main));
  t.equal((await verifier.verify(token)).sub, 'user-1');

  const empty = new MemoryKeys();
  empty.loaded = false;
  t.equal(await rejection(verifierOver(empty).verify(token)), 'jwks_unavailable');
});
