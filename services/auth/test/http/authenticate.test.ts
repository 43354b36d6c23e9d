/**
 * Auth verifies its own access tokens with the gateway's verifier and rules (@keygate/tokens over
 * the KeyStore): what the gateway refuses, /auth/me refuses too, and the Bearer scheme name is
 * read in any case. Tokens here are re-signed with the service's real current key, so the only
 * difference from an accepted token is the one the case names (a control re-signing proves it).
 */
import { test } from 'tap';
import type { SigningKey } from '@keygate/tokens';
import { claimsOf, http, registerAndLogin, startAuth } from '../helpers.js';
import { FORM, basic, form, register } from '../oauth-helpers.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The token with the lowest bit of its last signature character flipped: a 2048-bit signature is
 * 342 characters, the last carrying 4 bits no decoder reads, so the signature bytes are unchanged.
 */
function flipLastBit(token: string): string {
  return `${token.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(token[token.length - 1]!) ^ 1]!}`;
}

/** Signs header and payload with the service's own private key (RS256), whatever the header holds. */
async function resign(key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = await crypto.subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

test('auth refuses what the gateway refuses, and reads the Bearer scheme in any case', async (t) => {
  const auth = await startAuth(t);
  const { base } = auth;
  const user = await registerAndLogin(base);
  const key = auth.ctx.keys.signingKey()!;
  t.equal(key.alg, 'RS256');
  const me = (authorization: string) => http(base, 'GET', '/auth/me', { headers: { authorization } });

  await t.test('the scheme name is case-insensitive (RFC 7235): bearer, BEARER, Bearer', async (t) => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await me(`${scheme} ${user.accessToken}`);
      t.equal(res.status, 200, scheme);
      t.match(res.body, { id: user.userId });
    }
    const otherScheme = await me('Basic dXNlcjpwYXNz');
    t.equal(otherScheme.status, 401);
    t.equal((otherScheme.body as { error: string }).error, 'invalid_token');
  });

  await t.test('the flipped unused low bit of the last signature character: 401, as at the gateway', async (t) => {
    const flipped = flipLastBit(user.accessToken);
    const s = user.accessToken.split('.')[2]!;
    // The same signature bytes: a decoder that ignores trailing bits (jose's) accepts it.
    t.same(Buffer.from(flipped.split('.')[2]!, 'base64url'), Buffer.from(s, 'base64url'));
    const res = await me(`Bearer ${flipped}`);
    t.equal(res.status, 401);
    t.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    t.same(res.body, { error: 'invalid_token', error_description: 'The access token is invalid, expired or revoked.' });
    t.equal((await me(`Bearer ${user.accessToken}`)).status, 200, 'the original still passes');
  });

  await t.test('zip and jku header members: 401, though signed by the real key', async (t) => {
    const header = { alg: 'RS256', typ: 'at+jwt', kid: key.kid };
    const payload = claimsOf(user.accessToken);
    const control = await resign(key, header, payload);
    t.equal((await me(`Bearer ${control}`)).status, 200, 'control: the same claims re-signed without the member pass');
    for (const [name, extra] of Object.entries({ zip: { zip: 'DEF' }, jku: { jku: 'https://evil.example/jwks.json' }, x5u: { x5u: 'https://evil.example/cert.pem' }, crit: { crit: ['exp'] } })) {
      const res = await me(`Bearer ${await resign(key, { ...header, ...extra }, payload)}`);
      t.equal(res.status, 401, name);
      t.equal((res.body as { error: string }).error, 'invalid_token', name);
    }
    const noClientId = { ...payload };
    delete noClientId.client_id;
    t.equal((await me(`Bearer ${await resign(key, header, noClientId)}`)).status, 401, 'a token without client_id');
  });

  await t.test('introspection applies the same rules: the flipped-bit token is inactive', async (t) => {
    const service = await register(auth, { name: 'introspecting service', grants: ['client_credentials'], scopes: ['orders:read'] });
    const post = async (path: string, params: Record<string, string>) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { ...FORM, ...basic(service.id, service.secret!) }, body: form(params) });
      return (await res.json()) as Record<string, unknown>;
    };
    const issued = await post('/oauth/token', { grant_type: 'client_credentials', scope: 'orders:read' });
    const token = issued.access_token as string;
    t.equal((await post('/oauth/introspect', { token })).active, true, 'control: the token as issued is active');
    t.same(await post('/oauth/introspect', { token: flipLastBit(token) }), { active: false });
  });
});
