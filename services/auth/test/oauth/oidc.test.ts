// OpenID Connect Core 1.0 for the authorization code flow, driven by openid-client v6 in its
// default OIDC mode (discovery from /.well-known/openid-configuration, nonce and ID token
// validation, userinfo), plus the attacks: a wrong nonce, userinfo without `openid`, an ID token
// presented as an access token, prompt=none, and the ID token's claims checked one by one.
import { test } from 'tap';
import * as client from 'openid-client';
import { ACCOUNT_SCOPE } from '@keygate/tokens';
import { findSession } from '../../src/sessions/repository.js';
import { bearer, claimsOf, http, registerAndLogin, uniqueEmail } from '../helpers.js';
import { REDIRECT, authorize, discover, oauthFailure, register, startFlow, startIssuer } from '../oauth-helpers.js';

function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

test('OpenID Connect with openid-client in its default OIDC mode', async (t) => {
  const auth = await startIssuer(t);
  const app = await register(auth, { name: 'OIDC app', grants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['openid', 'email', 'profile', 'orders:read'] });
  const { email, userId, accessToken: ownToken } = await registerAndLogin(auth.base, uniqueEmail('oidc'));

  await t.test('discovery carries what OpenID Connect Discovery requires and recommends', async (t) => {
    const config = await discover(auth, app);
    const metadata = config.serverMetadata();
    t.equal(metadata.issuer, auth.base);
    t.equal(metadata.userinfo_endpoint, `${auth.base}/oauth/userinfo`);
    t.equal(metadata.end_session_endpoint, `${auth.base}/oauth/logout`);
    t.equal(metadata.authorization_endpoint, `${auth.base}/oauth/authorize`);
    t.equal(metadata.jwks_uri, `${auth.base}/.well-known/jwks.json`);
    t.same(metadata.subject_types_supported, ['public']);
    t.same(metadata.id_token_signing_alg_values_supported, ['RS256']);
    t.same(metadata.response_types_supported, ['code']);
    t.same(metadata.code_challenge_methods_supported, ['S256']);
    for (const scope of ['openid', 'profile', 'email']) t.ok(metadata.scopes_supported?.includes(scope), `scopes_supported lists ${scope}`);
    for (const claim of ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'sid', 'azp', 'email', 'email_verified']) {
      t.ok(metadata.claims_supported?.includes(claim), `claims_supported lists ${claim}`);
    }
    t.equal(metadata.request_uri_parameter_supported, false, 'request_uri is not offered, and says so (its default is true)');
    const rfc8414 = await http(auth.base, 'GET', '/.well-known/oauth-authorization-server');
    t.same(rfc8414.body, metadata, 'RFC 8414 metadata is the same document, scopes_supported included');
    // Every endpoint the document names answers (not 404).
    for (const url of [metadata.userinfo_endpoint!, metadata.end_session_endpoint!]) {
      t.not((await fetch(url, { redirect: 'manual' })).status, 404, `${url} exists`);
    }
  });

  await t.test('code + PKCE + nonce: a validated ID token, userinfo, a refreshed ID token', async (t) => {
    const nonce = client.randomNonce();
    const before = Math.floor(Date.now() / 1000);
    const flow = await startFlow(auth, app, 'basic', { scope: 'openid email orders:read', nonce });
    const landed = await authorize(auth, flow, email);
    const tokens = await client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: nonce, idTokenExpected: true });
    t.ok(tokens.id_token, 'an id_token in the token response');
    const claims = tokens.claims()!;
    t.match(claims, { iss: auth.base, sub: userId, aud: app.id, azp: app.id, nonce, email, email_verified: false });
    t.equal(claims.sid, claimsOf(tokens.access_token).sid, 'sid: the session of the access token');
    t.ok(typeof claims.auth_time === 'number' && claims.auth_time >= before - 1 && claims.auth_time <= claims.iat, 'auth_time: the sign-in moment');
    t.type(claims.at_hash, 'string');
    t.match(headerOf(tokens.id_token!), { typ: 'JWT', alg: 'RS256' }, 'typ JWT, not at+jwt');
    t.equal(headerOf(tokens.id_token!).kid, headerOf(tokens.access_token).kid, 'signed with the current key, like access tokens');
    t.notOk('role' in claims || 'scope' in claims || 'client_id' in claims, 'no access-token claims in it');

    const info = await client.fetchUserInfo(flow.config, tokens.access_token, userId);
    t.same(info, { sub: userId, email, email_verified: false });
    const posted = await fetch(`${auth.base}/oauth/userinfo`, { method: 'POST', headers: bearer(tokens.access_token) });
    t.equal(posted.status, 200, 'POST /oauth/userinfo');
    t.equal(posted.headers.get('cache-control'), 'no-store');

    // The address becomes verified: email_verified follows, in userinfo and in the next ID token.
    await auth.ctx.db.updateTable('auth.users').set({ email_verified_at: new Date() }).where('id', '=', userId).execute();
    t.same(await client.fetchUserInfo(flow.config, tokens.access_token, userId), { sub: userId, email, email_verified: true });
    t.match((await http(auth.base, 'GET', '/auth/me', { headers: bearer(ownToken) })).body, { id: userId, email_verified: true }, '/auth/me says so too');

    const refreshed = await client.refreshTokenGrant(flow.config, tokens.refresh_token!);
    t.ok(refreshed.id_token, 'the refresh grant of an openid session returns an id_token (OIDC Core §12.2)');
    const again = refreshed.claims()!;
    t.match(again, { sub: userId, aud: app.id, auth_time: claims.auth_time, sid: claims.sid, email_verified: true });
    t.notOk('nonce' in again, 'no nonce on refresh');
    t.not(again.at_hash, claims.at_hash, 'bound to the new access token');
  });

  await t.test('without openid: no id_token, and userinfo is 403 insufficient_scope', async (t) => {
    const flow = await startFlow(auth, app, 'basic', { scope: 'orders:read' });
    const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, email), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    t.notOk(tokens.id_token);
    const res = await http(auth.base, 'GET', '/oauth/userinfo', { headers: bearer(tokens.access_token) });
    t.equal(res.status, 403);
    t.match(res.body, { error: 'insufficient_scope' });
    t.equal(res.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="openid"');
    t.equal((await http(auth.base, 'GET', '/oauth/userinfo', { headers: bearer(ownToken) })).status, 403, "a first-party token without openid too");
    const none = await http(auth.base, 'GET', '/oauth/userinfo');
    t.equal(none.status, 401, 'no token');
    t.equal(none.headers.get('www-authenticate'), 'Bearer');
  });

  await t.test('openid without email: no email claims anywhere', async (t) => {
    const flow = await startFlow(auth, app, 'basic', { scope: 'openid' });
    const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, email), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, idTokenExpected: true });
    t.notOk('email' in tokens.claims()!);
    t.same(await client.fetchUserInfo(flow.config, tokens.access_token, userId), { sub: userId });
  });

  await t.test('attacks: a wrong nonce, an ID token as access token, a revoked session at userinfo', async (t) => {
    const flow = await startFlow(auth, app, 'basic', { scope: 'openid', nonce: client.randomNonce() });
    const landed = await authorize(auth, flow, email);
    await t.rejects(
      client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: client.randomNonce() }),
      { code: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED', cause: { message: /"nonce"/ } },
      'the client refuses an ID token with another nonce: the server echoed the one of this request',
    );
    const fresh = await startFlow(auth, app, 'basic', { scope: 'openid' });
    const tokens = await client.authorizationCodeGrant(fresh.config, await authorize(auth, fresh, email), { pkceCodeVerifier: fresh.verifier, expectedState: fresh.state });
    const asAccess = await http(auth.base, 'GET', '/oauth/userinfo', { headers: bearer(tokens.id_token!) });
    t.equal(asAccess.status, 401, 'an ID token is no access token (typ JWT, aud the client)');
    t.match(asAccess.body, { error: 'invalid_token' });
    await auth.ctx.db.updateTable('auth.sessions').set({ revoked_at: new Date(), revoked_reason: 'logout' }).where('id', '=', claimsOf(tokens.access_token).sid as string).execute();
    t.equal((await http(auth.base, 'GET', '/oauth/userinfo', { headers: bearer(tokens.access_token) })).status, 401, 'a revoked session is refused at once');
  });

  await t.test('prompt and max_age', async (t) => {
    const url = async (extra: Record<string, string>) => (await startFlow(auth, app, 'basic', { scope: 'openid', ...extra })).url;
    const redirected = async (extra: Record<string, string>) => {
      const res = await fetch(await url(extra), { redirect: 'manual' });
      t.equal(res.status, 303);
      return new URL(res.headers.get('location')!).searchParams;
    };
    const silent = await redirected({ prompt: 'none', state: 'abc' });
    t.equal(silent.get('error'), 'login_required', 'prompt=none: there is never a sign-in to reuse silently');
    t.equal(silent.get('state'), 'abc');
    t.equal(silent.get('iss'), auth.base);
    t.equal((await redirected({ prompt: 'none login' })).get('error'), 'invalid_request', 'none with another value');
    t.equal((await redirected({ prompt: 'sometimes' })).get('error'), 'invalid_request', 'an unknown prompt value');
    t.equal((await redirected({ max_age: 'soon' })).get('error'), 'invalid_request', 'a max_age that is no number');
    for (const extra of [{ prompt: 'login' }, { max_age: '0' }, { max_age: '60' }] as Record<string, string>[]) {
      const res = await fetch(await url(extra), { redirect: 'manual' });
      t.equal(res.status, 200, `${JSON.stringify(extra)}: the sign-in form, password asked`);
      t.match(await res.text(), /name="password"/);
    }
    // max_age through the client library: it checks auth_time against max_age itself.
    const flow = await startFlow(auth, app, 'basic', { scope: 'openid', max_age: '30' });
    const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, email), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, maxAge: 30 });
    t.ok(Math.floor(Date.now() / 1000) - (tokens.claims()!.auth_time as number) <= 30, 'auth_time within max_age');
  });

  await t.test('the account scope stays first-party: a third-party token cannot read consents', async (t) => {
    const flow = await startFlow(auth, app, 'basic', { scope: 'openid' });
    const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, email), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    const res = await http(auth.base, 'GET', '/auth/consents', { headers: bearer(tokens.access_token) });
    t.equal(res.status, 403);
    t.match(res.headers.get('www-authenticate'), new RegExp(`scope="${ACCOUNT_SCOPE}"`));
  });
});

test('an openid session revoked by its code being replayed: refresh gives no ID token', async (t) => {
  const auth = await startIssuer(t);
  const app = await register(auth, { name: 'replayed', grants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['openid'] });
  const { email } = await registerAndLogin(auth.base, uniqueEmail('replay'));
  const flow = await startFlow(auth, app, 'basic', { scope: 'openid' });
  const landed = await authorize(auth, flow, email);
  const tokens = await client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
  t.match(await oauthFailure(client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state })), { error: 'invalid_grant' });
  t.equal((await findSession(auth.ctx.db, claimsOf(tokens.access_token).sid as string))?.revoked_reason, 'authorization_code_replay');
  t.match(await oauthFailure(client.refreshTokenGrant(flow.config, tokens.refresh_token!)), { error: 'invalid_grant' });
});
