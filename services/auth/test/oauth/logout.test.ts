// RP-initiated logout (GET/POST /oauth/logout) with openid-client's buildEndSessionUrl: the
// session the id_token_hint names is ended and announced, the browser goes back only to a
// registered post_logout_redirect_uri; forged hints, access tokens as hints, another client's
// hint and unregistered URIs end nothing and redirect nowhere.
import { test } from 'tap';
import { SignJWT, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { signIdToken } from '@keygate/tokens';
import { findSession } from '../../src/sessions/repository.js';
import { bearer, claimsOf, http, registerAndLogin, uniqueEmail } from '../helpers.js';
import { REDIRECT, authorize, register, startFlow, startIssuer, type RegisteredClient } from '../oauth-helpers.js';
import type { TestAuth } from '../helpers.js';

const AFTER = 'https://app.example/signed-out';

async function signIn(auth: TestAuth, app: RegisteredClient, email: string) {
  const flow = await startFlow(auth, app, 'basic', { scope: 'openid' });
  const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, email), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
  return { config: flow.config, tokens, sid: claimsOf(tokens.access_token).sid as string };
}

test('RP-initiated logout', async (t) => {
  const auth = await startIssuer(t);
  const app = await register(auth, { name: 'app', grants: ['authorization_code'], redirectUris: [REDIRECT], scopes: ['openid'], postLogoutRedirectUris: [AFTER] });
  const otherApp = await register(auth, { name: 'other', grants: ['authorization_code'], redirectUris: [REDIRECT], scopes: ['openid'], postLogoutRedirectUris: ['https://other.example/bye'] });
  const alice = await registerAndLogin(auth.base, uniqueEmail('alice'));
  const bob = await registerAndLogin(auth.base, uniqueEmail('bob'));
  const revokedReason = async (sid: string) => (await findSession(auth.ctx.db, sid))?.revoked_reason ?? null;

  await t.test('a hint and a registered URI: the session ends everywhere, the browser goes back with state', async (t) => {
    const a = await signIn(auth, app, alice.email);
    const b = await signIn(auth, app, bob.email);
    const url = client.buildEndSessionUrl(a.config, { id_token_hint: a.tokens.id_token!, post_logout_redirect_uri: AFTER, state: 'st8' });
    const res = await fetch(url, { redirect: 'manual' });
    t.equal(res.status, 303);
    t.equal(res.headers.get('location'), `${AFTER}?state=st8`);
    t.equal(await revokedReason(a.sid), 'rp_logout');
    t.ok((await auth.ctx.bus.listExpiring('revoked')).some((m) => m.member === `session:${a.sid}`), 'the gateways are told');
    t.equal((await http(auth.base, 'GET', '/oauth/userinfo', { headers: bearer(a.tokens.access_token) })).status, 401, 'its access token is refused');
    t.equal(await revokedReason(b.sid), null, "another user's session with the same client lives on");
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: bearer(alice.accessToken) })).status, 200, "the user's other sessions live on");
    // Again with the same (now spent) hint: nothing left to end, still a valid place to return to.
    t.equal((await fetch(url, { redirect: 'manual' })).status, 303);
  });

  await t.test('without a redirect URI: a plain signed-out page; POST works as GET', async (t) => {
    const a = await signIn(auth, app, alice.email);
    const res = await fetch(`${auth.base}/oauth/logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ id_token_hint: a.tokens.id_token! }).toString() });
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /^text\/html/);
    t.match(await res.text(), /You are signed out/);
    t.equal(await revokedReason(a.sid), 'rp_logout');
    t.equal((await fetch(`${auth.base}/oauth/logout`)).status, 200, 'no parameters at all: the page, nothing ended');
  });

  await t.test('refused, ending nothing and redirecting nowhere', async (t) => {
    const a = await signIn(auth, app, alice.email);
    const hint = a.tokens.id_token!;
    const [header, payload, signature] = hint.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const bobSession = await signIn(auth, app, bob.email);
    const swapped = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: bob.userId, sid: bobSession.sid })).toString('base64url')}.${signature}`;
    const { privateKey } = await generateKeyPair('RS256');
    const foreignKey = await new SignJWT({ sid: bobSession.sid }).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: JSON.parse(Buffer.from(header, 'base64url').toString()).kid as string })
      .setIssuer(auth.base).setSubject(bob.userId).setAudience(app.id).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    const cases: [Record<string, string>, string][] = [
      [{ id_token_hint: hint, post_logout_redirect_uri: 'https://evil.example/' }, 'an unregistered post_logout_redirect_uri'],
      [{ id_token_hint: hint, post_logout_redirect_uri: `${AFTER}/x` }, 'a registered URI plus a path'],
      [{ id_token_hint: hint, post_logout_redirect_uri: 'https://other.example/bye' }, "another client's registered URI"],
      [{ id_token_hint: hint, client_id: otherApp.id }, 'a client_id that is not the hint audience'],
      [{ id_token_hint: swapped }, "a hint rewritten to name another user's session (signature no longer matches)"],
      [{ id_token_hint: foreignKey }, 'a hint signed by a key that is not ours'],
      [{ id_token_hint: a.tokens.access_token }, 'an access token as hint (typ at+jwt)'],
      [{ id_token_hint: 'not.a.jwt' }, 'garbage'],
      [{ post_logout_redirect_uri: AFTER }, 'a redirect URI without hint or client_id'],
      [{ client_id: app.id, post_logout_redirect_uri: 'https://evil.example/' }, 'client_id with an unregistered URI'],
    ];
    for (const [params, what] of cases) {
      const res = await fetch(`${auth.base}/oauth/logout?${new URLSearchParams(params).toString()}`, { redirect: 'manual' });
      t.equal(res.status, 400, what);
      t.equal(res.headers.get('location'), null, `${what}: no redirect`);
      t.match(await res.text(), /role="alert"/, `${what}: an error page`);
    }
    t.equal(await revokedReason(a.sid), null, "alice's session is untouched");
    t.equal(await revokedReason(bobSession.sid), null, "bob's session is untouched");
    const byClient = await fetch(`${auth.base}/oauth/logout?client_id=${app.id}&post_logout_redirect_uri=${encodeURIComponent(AFTER)}`, { redirect: 'manual' });
    t.equal(byClient.status, 303, 'client_id and a registered URI, no hint: redirected, nothing ended');
    t.equal(await revokedReason(a.sid), null);
  });

  await t.test('an expired hint still names its session (the specification allows it)', async (t) => {
    const a = await signIn(auth, app, alice.email);
    const hour = 3600;
    const expired = await signIdToken(auth.ctx.keys.signingKey()!, { sub: alice.userId, clientId: app.id, authTime: Math.floor(Date.now() / 1000) - 2 * hour, sid: a.sid, accessToken: a.tokens.access_token }, { issuer: auth.base, ttlSeconds: 60, now: Math.floor(Date.now() / 1000) - hour });
    t.ok((JSON.parse(Buffer.from(expired.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp < Date.now() / 1000, 'expired an hour ago');
    const res = await fetch(`${auth.base}/oauth/logout?id_token_hint=${expired}&client_id=${app.id}`, { redirect: 'manual' });
    t.equal(res.status, 200);
    t.equal(await revokedReason(a.sid), 'rp_logout');
  });
});
