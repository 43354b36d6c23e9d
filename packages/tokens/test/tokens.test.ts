import { test } from 'tap';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import {
  buildJwks,
  createTokenVerifier,
  decryptPrivateKey,
  encryptPrivateKey,
  generateSigningKey,
  importVerificationKey,
  openSecret,
  sealSecret,
  signAccessToken,
  SIGNING_ALGS,
  type VerificationKey,
} from '../src/index.js';
import { MemoryKeys } from './helpers.js';

const KEK = randomBytes(32);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const options = { issuer: 'https://issuer.example', audience: 'api' };
const claims = { sub: 'user-1', clientId: 'web', role: 'user', sid: 'session-1' };

/** The shared verifier over the given keys, every allowed algorithm accepted (each key pinned to its own). */
function verifierOf(...keys: VerificationKey[]) {
  return createTokenVerifier({ keys: new MemoryKeys(...keys), ...options, algorithms: SIGNING_ALGS });
}

test('every allowed algorithm: generate, seal, open, sign, publish, verify', async (t) => {
  for (const alg of SIGNING_ALGS) {
    await t.test(alg, async (t) => {
      const key = await generateSigningKey(alg);
      t.equal(key.alg, alg);
      t.match(key.kid, /^[A-Za-z0-9_-]{43}$/, 'RFC 7638 thumbprint');
      for (const member of PRIVATE_MEMBERS) t.notOk(member in key.publicJwk, `public JWK has no ${member}`);
      t.ok('d' in key.privateJwk, 'private JWK has d');
      if (alg === 'RS256' || alg === 'PS256') t.ok(Buffer.from(key.publicJwk.n!, 'base64url').length * 8 >= 2048, 'RSA >= 2048 bits');

      const sealed = encryptPrivateKey(key.privateJwk, KEK, key.kid);
      t.notOk(sealed.includes(key.privateJwk.d!), 'ciphertext does not contain the private key');
      const signing = await decryptPrivateKey(sealed, KEK, key.kid, alg);
      const signed = await signAccessToken(signing, claims, { ...options, ttlSeconds: 60 });
      t.same(decodeProtectedHeader(signed.token), { alg, typ: 'at+jwt', kid: key.kid });

      const jwks = buildJwks([{ kid: key.kid, alg, publicJwk: key.privateJwk }]);
      const published = jwks.keys[0]!;
      t.match(published, { kid: key.kid, alg, use: 'sig' });
      for (const member of PRIVATE_MEMBERS) t.notOk(member in published, `JWKS has no ${member} even when given a private JWK`);

      const payload = await verifierOf(importVerificationKey(key.kid, published, alg)).verify(signed.token);
      t.match(payload, { sub: 'user-1', client_id: 'web', role: 'user', sid: 'session-1', iss: options.issuer, aud: 'api', jti: signed.jti, exp: signed.exp, iat: signed.iat });
      t.equal(payload.exp - payload.iat, 60);
    });
  }
});

test('claims: sid and scope are optional, nothing else is added', async (t) => {
  const key = await generateSigningKey('RS256');
  const signing = await decryptPrivateKey(encryptPrivateKey(key.privateJwk, KEK, key.kid), KEK, key.kid, 'RS256');
  const service = await signAccessToken(signing, { sub: 'svc', clientId: 'svc', role: 'service', scope: 'orders:read' }, { ...options, ttlSeconds: 60 });
  const payload = JSON.parse(Buffer.from(service.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.same(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'role', 'scope', 'sub']);
});

test('signed tokens under the shared verifier: tampering, wrong alg for the kid, wrong typ/iss/aud, expiry, unknown kid refused', async (t) => {
  const key = await generateSigningKey('RS256');
  const signing = await decryptPrivateKey(encryptPrivateKey(key.privateJwk, KEK, key.kid), KEK, key.kid, 'RS256');
  const verification = importVerificationKey(key.kid, key.publicJwk, 'RS256');
  const verify = (token: string, extra: Partial<typeof options> = {}) => createTokenVerifier({ keys: new MemoryKeys(verification), ...options, ...extra }).verify(token);
  const good = (await signAccessToken(signing, claims, { ...options, ttlSeconds: 60 })).token;
  const refuse = (token: string, message: string, extra: Partial<typeof options> = {}) => t.rejects(verify(token, extra), { name: 'TokenError' }, message);

  const [h, p, s] = good.split('.') as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...(JSON.parse(Buffer.from(p, 'base64url').toString()) as object), role: 'admin' })).toString('base64url');
  await refuse(`${h}.${forged}.${s}`, 'tampered payload');
  await refuse(`${h}.${p}.${s.slice(0, -4)}AAAA`, 'tampered signature');
  await refuse(good, 'wrong issuer', { issuer: 'https://other.example' });
  await refuse(good, 'wrong audience', { audience: 'other' });
  await refuse('not.a.token', 'garbage');

  // PS256 signature under the same RSA key and kid: the kid pins RS256, so it is refused.
  const rsaPrivate = (await importJWK(key.privateJwk, 'PS256')) as CryptoKey;
  const ps = await new SignJWT({ client_id: 'web', role: 'user' }).setProtectedHeader({ alg: 'PS256', typ: 'at+jwt', kid: key.kid }).setIssuer(options.issuer).setAudience('api').setSubject('u').setJti('j').setIssuedAt().setExpirationTime('1m').sign(rsaPrivate);
  await refuse(ps, 'algorithm pinned per kid, never from the header');
  const hs = await new SignJWT({ client_id: 'web', role: 'user' }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }).setIssuer(options.issuer).setAudience('api').setSubject('u').setJti('j').setIssuedAt().setExpirationTime('1m').sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
  await refuse(hs, 'HS256 with the public key as secret');
  const jwtTyp = await new SignJWT({ client_id: 'web', role: 'user' }).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).setIssuer(options.issuer).setAudience('api').setSubject('u').setJti('j').setIssuedAt().setExpirationTime('1m').sign(signing.privateKey);
  await refuse(jwtTyp, 'typ must be at+jwt');
  const old = (await signAccessToken(signing, claims, { ...options, ttlSeconds: 60, now: Math.floor(Date.now() / 1000) - 120 })).token;
  await refuse(old, 'expired beyond the 30 s skew');
  const slightly = (await signAccessToken(signing, claims, { ...options, ttlSeconds: 60, now: Math.floor(Date.now() / 1000) - 80 })).token;
  t.ok(await verify(slightly), 'expired by 20 s: within skew');
  const future = (await signAccessToken(signing, claims, { ...options, ttlSeconds: 600, now: Math.floor(Date.now() / 1000) + 120 })).token;
  await refuse(future, 'issued in the future beyond skew');

  const other = await generateKeyPair('RS256', { extractable: true });
  const otherJwk = await exportJWK(other.privateKey);
  const unknown = await new SignJWT({ client_id: 'web', role: 'user' }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown' }).setIssuer(options.issuer).setAudience('api').setSubject('u').setJti('j').setIssuedAt().setExpirationTime('1m').sign(other.privateKey);
  await refuse(unknown, 'unknown kid');
  t.ok(otherJwk.d);
});

test('sealing: wrong key, wrong aad and tampering all fail with one code', async (t) => {
  const sealed = sealSecret(Buffer.from('secret value'), KEK, 'ctx-1');
  t.equal(openSecret(sealed, KEK, 'ctx-1').toString(), 'secret value');
  t.not(sealSecret(Buffer.from('secret value'), KEK, 'ctx-1'), sealed, 'a fresh IV each time');
  t.throws(() => openSecret(sealed, randomBytes(32), 'ctx-1'), { code: 'ERR_TOKENS_DECRYPT_FAILED' });
  t.throws(() => openSecret(sealed, KEK, 'ctx-2'), { code: 'ERR_TOKENS_DECRYPT_FAILED' });
  const parts = sealed.split('.');
  const body = Buffer.from(parts[2]!, 'base64url');
  body[0] = body[0]! ^ 1;
  t.throws(() => openSecret([parts[0], parts[1], body.toString('base64url'), parts[3]].join('.'), KEK, 'ctx-1'), { code: 'ERR_TOKENS_DECRYPT_FAILED' });
  t.throws(() => openSecret('v2.a.b.c', KEK, 'ctx-1'), { code: 'ERR_TOKENS_DECRYPT_FAILED' });
  t.throws(() => sealSecret(Buffer.from('x'), randomBytes(16), 'a'), { code: 'ERR_TOKENS_INVALID_KEY' });
  const key = await generateSigningKey('ES256');
  const sealedKey = encryptPrivateKey(key.privateJwk, KEK, key.kid);
  await t.rejects(decryptPrivateKey(sealedKey, KEK, 'another-kid', 'ES256'), { code: 'ERR_TOKENS_DECRYPT_FAILED' }, 'bound to its kid');
});

test('refuses weak or foreign keys and algorithms', async (t) => {
  await t.rejects(generateSigningKey('RS256', { modulusLength: 1024 }), { code: 'ERR_TOKENS_INVALID_KEY' });
  await t.rejects(generateSigningKey('HS256'), { code: 'ERR_TOKENS_UNSUPPORTED_ALG' });
  await t.rejects(generateSigningKey('none'), { code: 'ERR_TOKENS_UNSUPPORTED_ALG' });
  t.throws(() => buildJwks([{ kid: 'k', alg: 'HS256', publicJwk: { kty: 'oct', k: 'c2VjcmV0' } as JWK }]), { code: 'ERR_TOKENS_UNSUPPORTED_ALG' });
  t.throws(() => buildJwks([{ kid: 'k', alg: 'RS256', publicJwk: { kty: 'oct', k: 'c2VjcmV0' } as JWK }]), { code: 'ERR_TOKENS_INVALID_KEY' });
  const big = await generateSigningKey('RS256', { modulusLength: 3072 });
  t.equal(Buffer.from(big.publicJwk.n!, 'base64url').length * 8, 3072);
  t.equal(importVerificationKey(big.kid, big.publicJwk, 'RS256').alg, 'RS256');
  // A verification key is checked at import as at generation: no weak RSA, no key of another type for the alg.
  const weakJwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  t.throws(() => importVerificationKey('weak', weakJwk, 'RS256'), { code: 'ERR_TOKENS_INVALID_KEY' });
  const ec = await generateSigningKey('ES256');
  t.throws(() => importVerificationKey(ec.kid, ec.publicJwk, 'RS256'), { code: 'ERR_TOKENS_INVALID_KEY' });
  t.throws(() => importVerificationKey(ec.kid, ec.publicJwk, 'HS256'), { code: 'ERR_TOKENS_UNSUPPORTED_ALG' });
});
