// OpenID Connect end to end through the gateway, with the client libraries a developer would use,
// unchanged: openid-client v6 in its default OIDC mode (discovery, code + PKCE + nonce with ID
// token validation, userinfo) for a confidential client registered with authctl, and oauth4webapi's
// OIDC functions for a public one. The sign-in and consent forms are posted with the headers
// Chromium sends (Origin null, Sec-Fetch-Site same-origin); a cross-site post is refused. Then the
// two ways a third-party session ends: the user withdraws the consent (the gateway refuses the
// client's token within a second) and RP-initiated logout with the ID token as hint.
import { test, type Test } from 'tap';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { startStack } from '@keygate/stack';
import { formField, stackEnvironment, waitUntil } from './helpers.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../services/auth/dist/cli.js');
const REDIRECT = 'http://127.0.0.1:4000/callback';
const AFTER_LOGOUT = 'http://127.0.0.1:4000/signed-out';
const EMAIL = 'reader@example.com';
const PASSWORD = 'reader password 1';
const CHROMIUM_FORM_POST = { origin: 'null', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

/** A browser at the authorization URL: the sign-in page, the form post, the consent page, Allow. */
async function signInAndApprove(t: Test, gw: string, authorizationUrl: URL): Promise<URL> {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  t.equal(page.status, 200, 'the sign-in page');
  t.equal(page.headers.get('referrer-policy'), 'same-origin');
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith('oauth_login='))!.split(';')[0]!;
  const post = (path: string, body: Record<string, string>, headers: Record<string, string>) =>
    fetch(`${gw}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...headers }, body: new URLSearchParams(body).toString() });
  const signInBody = { email: EMAIL, password: PASSWORD, request: formField(await page.text(), 'request') };
  const crossSite = await post('/oauth/authorize', signInBody, { origin: 'null', 'sec-fetch-site': 'cross-site' });
  t.equal(crossSite.status, 403, 'a cross-site post of the same form is refused');
  const signedIn = await post('/oauth/authorize', signInBody, CHROMIUM_FORM_POST);
  t.equal(signedIn.status, 200, 'the consent page, after the post Chromium sends');
  const consent = formField(await signedIn.text(), 'consent');
  t.equal((await post('/oauth/authorize/consent', { consent, decision: 'approve' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status, 403, 'a cross-site consent post is refused');
  const approved = await post('/oauth/authorize/consent', { consent, decision: 'approve' }, CHROMIUM_FORM_POST);
  t.equal(approved.status, 303);
  return new URL(approved.headers.get('location')!);
}

test('OpenID Connect through the gateway with openid-client and oauth4webapi', async (t) => {
  const environment = await stackEnvironment();
  t.teardown(() => environment.cleanup());
  const authctl = async (...args: string[]) => JSON.parse((await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...environment.env } })).stdout) as { client_id: string; client_secret?: string };
  // Before the stack: embedded PGlite (under DATA_DIR) allows one process at a time.
  const web = await authctl('clients', 'create', '--name', 'Reader', '--grant', 'authorization_code', '--grant', 'refresh_token', '--redirect-uri', REDIRECT,
    '--post-logout-redirect-uri', AFTER_LOGOUT, '--scope', 'openid', '--scope', 'email', '--scope', 'orders:read', '--json');
  const spa = await authctl('clients', 'create', '--name', 'Reader SPA', '--public', '--grant', 'authorization_code', '--redirect-uri', 'http://127.0.0.1/callback',
    '--post-logout-redirect-uri', AFTER_LOGOUT, '--scope', 'openid', '--scope', 'orders:read', '--json');
  const stack = await startStack(environment.env);
  t.teardown(() => stack.close());
  const gw = stack.gatewayUrl;
  const registered = await fetch(`${gw}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });
  const userId = ((await registered.json()) as { id: string }).id;
  const orders = (token: string) => fetch(`${gw}/orders`, { headers: { authorization: `Bearer ${token}` } });

  // openid-client, default OIDC mode: discovery at /.well-known/openid-configuration.
  const config = await client.discovery(new URL(gw), web.client_id, undefined, client.ClientSecretBasic(web.client_secret!), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email orders:read', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce });
  const tokens = await client.authorizationCodeGrant(config, await signInAndApprove(t, gw, url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  t.match(tokens.claims(), { iss: gw, sub: userId, aud: web.client_id, azp: web.client_id, nonce, email: EMAIL, email_verified: false });
  t.same(await client.fetchUserInfo(config, tokens.access_token, userId), { sub: userId, email: EMAIL, email_verified: false }, 'userinfo through the gateway');
  t.equal((await orders(tokens.access_token)).status, 200, 'the access token works at the gateway');

  // oauth4webapi's OIDC functions, a public client on a loopback redirect URI with its own port.
  const issuer = new URL(gw);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', [oauth.allowInsecureRequests]: true }));
  const spaClient: oauth.Client = { client_id: spa.client_id };
  const spaRedirect = 'http://127.0.0.1:28999/callback';
  const spaVerifier = oauth.generateRandomCodeVerifier();
  const spaNonce = oauth.generateRandomNonce();
  const spaUrl = new URL(as.authorization_endpoint!);
  spaUrl.search = new URLSearchParams({ client_id: spa.client_id, redirect_uri: spaRedirect, response_type: 'code', scope: 'openid orders:read', code_challenge: await oauth.calculatePKCECodeChallenge(spaVerifier), code_challenge_method: 'S256', nonce: spaNonce }).toString();
  const callback = await signInAndApprove(t, gw, spaUrl);
  const params = oauth.validateAuthResponse(as, spaClient, callback);
  const response = await oauth.authorizationCodeGrantRequest(as, spaClient, oauth.None(), params, spaRedirect, spaVerifier, { [oauth.allowInsecureRequests]: true });
  const result = await oauth.processAuthorizationCodeResponse(as, spaClient, response, { expectedNonce: spaNonce, requireIdToken: true });
  const idClaims = oauth.getValidatedIdTokenClaims(result)!;
  t.match(idClaims, { sub: userId, aud: spa.client_id, nonce: spaNonce });
  const info = await oauth.processUserInfoResponse(as, spaClient, idClaims.sub, await oauth.userInfoRequest(as, spaClient, result.access_token, { [oauth.allowInsecureRequests]: true }));
  t.equal(info.sub, userId);
  t.equal((await orders(result.access_token)).status, 200);

  // The user withdraws the consent of the web client from their own account (first-party login).
  const login = await fetch(`${gw}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });
  const own = ((await login.json()) as { access_token: string }).access_token;
  const listed = await fetch(`${gw}/auth/consents`, { headers: { authorization: `Bearer ${own}` } });
  t.match(await listed.json(), [{ client_id: web.client_id, client_name: 'Reader' }, { client_id: spa.client_id, client_name: 'Reader SPA' }]);
  const withdrawn = await fetch(`${gw}/auth/consents/${web.client_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${own}` } });
  t.equal(withdrawn.status, 204);
  const refusedAfter = await waitUntil(async () => (await orders(tokens.access_token)).status === 401, 1000);
  t.ok(refusedAfter !== undefined, `the gateway refuses the withdrawn client's token within 1 s (${refusedAfter} ms)`);
  t.equal((await orders(result.access_token)).status, 200, 'the other client is untouched');
  t.match(await oauthFailure(client.refreshTokenGrant(config, tokens.refresh_token!)), 'invalid_grant', 'its refresh token is dead too');

  // RP-initiated logout of the SPA's session, with its ID token as hint.
  const logoutUrl = new URL(as.end_session_endpoint!);
  logoutUrl.search = new URLSearchParams({ id_token_hint: result.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye' }).toString();
  const unregistered = new URL(logoutUrl);
  unregistered.searchParams.set('post_logout_redirect_uri', 'https://evil.example/');
  t.equal((await fetch(unregistered, { redirect: 'manual' })).status, 400, 'an unregistered post_logout_redirect_uri: no open redirect');
  t.equal((await orders(result.access_token)).status, 200, 'and nothing was ended');
  const loggedOut = await fetch(logoutUrl, { redirect: 'manual' });
  t.equal(loggedOut.status, 303);
  t.equal(loggedOut.headers.get('location'), `${AFTER_LOGOUT}?state=bye`);
  t.ok((await waitUntil(async () => (await orders(result.access_token)).status === 401, 1000)) !== undefined, 'the gateway refuses the logged-out session within 1 s');
  t.equal((await fetch(`${gw}/auth/me`, { headers: { authorization: `Bearer ${own}` } })).status, 200, "the user's first-party session lives on");
});

async function oauthFailure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'succeeded',
    (error: unknown) => (error instanceof client.ResponseBodyError ? error.error : String(error)),
  );
}
