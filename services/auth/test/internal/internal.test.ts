/**
 * GET /internal/revocations: what a gateway loads when it cannot catch up from Redis. Only a
 * gateway's own call (a valid proof, role `gateway`) gets the list; everything else is 401.
 * GET /internal/cors-origins likewise, for the gateway's CORS on the token endpoints.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'tap';
import { internalCallHeaders, signGatewayProof } from '@keygate/gateway-trust';
import { bearer, claimsOf, http, registerAndLogin, startAuth, waitFor } from '../helpers.js';
import { register } from '../oauth-helpers.js';

const PATH = '/internal/revocations';

interface Listed {
  revocations: Array<{ member: string; until: number }>;
}

test('a gateway gets every revocation that still matters, in the expiring-set form', async (t) => {
  const auth = await startAuth(t);
  const secret = auth.config.gatewaySecret;
  const alice = await registerAndLogin(auth.base);
  const bob = await registerAndLogin(auth.base);
  const aliceSid = claimsOf(alice.accessToken).sid as string;
  t.equal((await http(auth.base, 'POST', '/auth/logout-all', { headers: bearer(alice.accessToken) })).status, 204);

  const listed = async (): Promise<Listed> => {
    const res = await http(auth.base, 'GET', PATH, { headers: internalCallHeaders(secret, 'GET', PATH) });
    t.equal(res.status, 200);
    t.equal(res.headers.get('cache-control'), 'no-store');
    return res.body as Listed;
  };
  // The answer may come from a cache up to half a second old.
  let body: Listed = { revocations: [] };
  t.ok(await waitFor(async () => (body = await listed()).revocations.some((r) => r.member === `session:${aliceSid}`), 2_000), "alice's revoked session is listed");
  const entry = body.revocations.find((r) => r.member === `session:${aliceSid}`)!;
  const ttlMs = (auth.config.accessTokenTtl + 60) * 1_000;
  t.ok(entry.until > Date.now() && entry.until <= Date.now() + ttlMs, 'until: while a token of the session can still verify');
  t.notOk(body.revocations.some((r) => r.member.endsWith(claimsOf(bob.accessToken).sid as string)), "bob's live session is not");

  // A revocation made now shows within the cache time.
  const bobSid = claimsOf(bob.accessToken).sid as string;
  t.equal((await http(auth.base, 'POST', '/auth/logout-all', { headers: bearer(bob.accessToken) })).status, 204);
  const started = Date.now();
  t.ok(await waitFor(async () => (await listed()).revocations.some((r) => r.member === `session:${bobSid}`), 2_000), 'a new revocation is listed');
  t.ok(Date.now() - started < 1_000, `within the cache time (${Date.now() - started} ms)`);
});

test('without a valid gateway proof: 401 in the contract format, never the list', async (t) => {
  const auth = await startAuth(t);
  const secret = auth.config.gatewaySecret;
  const expect401 = async (headers: Record<string, string>, what: string) => {
    const res = await http(auth.base, 'GET', PATH, { headers });
    t.equal(res.status, 401, what);
    t.same(res.body, { error: 'unauthorized', error_description: 'This service only accepts requests forwarded by the gateway.' }, `${what}: contract body`);
  };
  await expect401({}, 'no proof');
  await expect401(internalCallHeaders(randomBytes(32), 'GET', PATH), 'a proof under another secret (forged)');
  await expect401(internalCallHeaders(secret, 'GET', '/auth/me'), 'a proof made for another path');
  await expect401({ ...internalCallHeaders(secret, 'GET', PATH), 'x-user-role': 'admin' }, 'the identity changed after signing');
  const replayed = internalCallHeaders(secret, 'GET', PATH);
  t.equal((await http(auth.base, 'GET', PATH, { headers: replayed })).status, 200, 'a fresh proof passes');
  await expect401(replayed, 'the same proof replayed');
  const stale = Date.now() - 120_000;
  const requestId = 'r-stale';
  await expect401(
    {
      'x-gateway-proof': signGatewayProof(secret, { method: 'GET', path: PATH, userId: 'gateway', role: 'gateway', clientId: '', scope: '', requestId }, stale),
      'x-user-id': 'gateway',
      'x-user-role': 'gateway',
      'x-client-id': '',
      'x-user-scope': '',
      'x-request-id': requestId,
    },
    'an expired proof',
  );
  // A valid proof the gateway made for a client (role user/admin), had a route table forwarded /internal.
  const asClient = { 'x-user-id': 'u-1', 'x-user-role': 'admin', 'x-client-id': 'keygate-web', 'x-user-scope': 'admin', 'x-request-id': 'r-client' };
  await expect401(
    { ...asClient, 'x-gateway-proof': signGatewayProof(secret, { method: 'GET', path: PATH, userId: 'u-1', role: 'admin', clientId: 'keygate-web', scope: 'admin', requestId: 'r-client' }) },
    "a proof made for a client's request",
  );
  // The proof check covers /internal only: the public routes are unaffected.
  t.equal((await http(auth.base, 'GET', '/.well-known/jwks.json')).status, 200, 'public routes need no proof');
});

test('GET /internal/cors-origins: the redirect origins of public clients, for the gateway only', async (t) => {
  const auth = await startAuth(t);
  const secret = auth.config.gatewaySecret;
  const CORS_PATH = '/internal/cors-origins';
  const base = { name: 'spa', grants: ['authorization_code', 'refresh_token'], scopes: [], firstParty: false, introspect: false };
  await register(auth, { ...base, public: true, redirectUris: ['https://spa.example.com/callback', 'https://spa.example.com/other', 'http://127.0.0.1:8090/callback'] });
  await register(auth, { ...base, public: false, redirectUris: ['https://server.example.com/callback'] });
  await register(auth, { ...base, public: true, redirectUris: ['http://[::1]/cb'] });
  const origins = async () => {
    const res = await http(auth.base, 'GET', CORS_PATH, { headers: internalCallHeaders(secret, 'GET', CORS_PATH) });
    t.equal(res.status, 200);
    t.equal(res.headers.get('cache-control'), 'no-store');
    return (res.body as { origins: string[] }).origins;
  };
  t.same(await origins(), ['http://127.0.0.1:8090', 'http://[::1]', 'https://spa.example.com'], 'one per origin; a confidential client’s origin is not listed');
  await register(auth, { ...base, public: true, redirectUris: ['https://new.example.com/cb'] });
  t.ok(await waitFor(async () => (await origins()).includes('https://new.example.com'), 2_000), 'a new public client shows within the cache time');
  const refused = await http(auth.base, 'GET', CORS_PATH, {});
  t.equal(refused.status, 401, 'no proof, no list');
  const forClient = await http(auth.base, 'GET', CORS_PATH, { headers: internalCallHeaders(randomBytes(32), 'GET', CORS_PATH) });
  t.equal(forClient.status, 401, 'a forged proof');
});
