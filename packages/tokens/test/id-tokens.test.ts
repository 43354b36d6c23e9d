// ID tokens (OIDC Core 1.0) and id_token_hint verification (RP-Initiated Logout 1.0): at_hash by
// the specification's own example, every allowed algorithm signs one that jose verifies, and a
// hint is refused for a foreign key, another issuer, an access token's typ, or a withdrawn key;
// an expired one is still a hint.
import { test } from 'tap';
import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { SIGNING_ALGS, accessTokenHash, decryptPrivateKey, encryptPrivateKey, generateSigningKey, importVerificationKey, signAccessToken, signIdToken, verifyIdTokenHint } from '../src/index.js';
import { MemoryKeys } from './helpers.js';

const KEK = createHash('sha256').update('test kek').digest();
const ISSUER = 'https://issuer.example';

async function signingKey(alg: (typeof SIGNING_ALGS)[number]) {
  const key = await generateSigningKey(alg);
  return { key, signing: await decryptPrivateKey(encryptPrivateKey(key.privateJwk, KEK, key.kid), KEK, key.kid, alg), verification: importVerificationKey(key.kid, key.publicJwk, alg) };
}

test('at_hash: the OpenID Connect Core specification example (RS256)', async (t) => {
  // OIDC Core 1.0 Appendix A.3/A.4: access_token jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y → at_hash 77QmUPtjPfzWtF2AnpK9RQ.
  t.equal(accessTokenHash('RS256', 'jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y'), '77QmUPtjPfzWtF2AnpK9RQ');
  t.equal(accessTokenHash('EdDSA', 'x').length, 43, 'EdDSA: half of SHA-512 (32 bytes)');
});

test('every allowed algorithm signs an ID token with typ JWT and the claims asked for', async (t) => {
  for (const alg of SIGNING_ALGS) {
    const { key, signing } = await signingKey(alg);
    const access = await signAccessToken(signing, { sub: 'u1', clientId: 'app', role: 'user', sid: 's1' }, { issuer: ISSUER, audience: 'api', ttlSeconds: 60 });
    const idToken = await signIdToken(signing, { sub: 'u1', clientId: 'app', authTime: 1000, sid: 's1', accessToken: access.token, nonce: 'n-1', email: { email: 'a@b.c', verified: false } }, { issuer: ISSUER, ttlSeconds: 60 });
    t.same(decodeProtectedHeader(idToken), { alg, typ: 'JWT', kid: key.kid }, `${alg}: header`);
    const { payload } = await jwtVerify(idToken, await importJWK(key.publicJwk, alg), { issuer: ISSUER, audience: 'app', typ: 'JWT' });
    t.match(payload, { sub: 'u1', aud: 'app', azp: 'app', auth_time: 1000, sid: 's1', nonce: 'n-1', email: 'a@b.c', email_verified: false, at_hash: accessTokenHash(alg, access.token) }, `${alg}: claims`);
    const bare = decodeJwt(await signIdToken(signing, { sub: 'u1', clientId: 'app', authTime: 1000, sid: 's1', accessToken: access.token }, { issuer: ISSUER, ttlSeconds: 60 }));
    t.notOk('nonce' in bare || 'email' in bare || 'email_verified' in bare, `${alg}: nothing unasked`);
  }
});

test('id_token_hint: ours (even expired) or nothing', async (t) => {
  const ours = await signingKey('RS256');
  const foreign = await signingKey('RS256');
  const keys = new MemoryKeys(ours.verification);
  const claims = { sub: 'u1', clientId: 'app', authTime: 1000, sid: 's1', accessToken: 'at' };
  const hour = 3600;
  const expired = await signIdToken(ours.signing, claims, { issuer: ISSUER, ttlSeconds: 60, now: Math.floor(Date.now() / 1000) - hour });
  t.same(await verifyIdTokenHint(keys, expired, ISSUER), { sub: 'u1', aud: 'app', sid: 's1' }, 'an expired hint is still a hint');
  const foreignToken = await signIdToken({ ...foreign.signing, kid: ours.key.kid }, claims, { issuer: ISSUER, ttlSeconds: 60 });
  t.equal(await verifyIdTokenHint(keys, foreignToken, ISSUER), undefined, 'another key under our kid');
  t.equal(await verifyIdTokenHint(keys, await signIdToken(ours.signing, claims, { issuer: 'https://other.example', ttlSeconds: 60 }), ISSUER), undefined, 'another issuer');
  const access = await signAccessToken(ours.signing, { sub: 'u1', clientId: 'app', role: 'user', sid: 's1' }, { issuer: ISSUER, audience: 'app', ttlSeconds: 60 });
  t.equal(await verifyIdTokenHint(keys, access.token, ISSUER), undefined, 'an access token (typ at+jwt)');
  t.equal(await verifyIdTokenHint(new MemoryKeys(), expired, ISSUER), undefined, 'a key no longer published');
  t.equal(await verifyIdTokenHint(keys, 'a.b.c', ISSUER), undefined, 'garbage');
  const [h, , s] = expired.split('.') as [string, string, string];
  const rewritten = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(expired), sid: 's2' })).toString('base64url')}.${s}`;
  t.equal(await verifyIdTokenHint(keys, rewritten, ISSUER), undefined, 'a rewritten sid');
});
