// What real client libraries send, accepted: a public client's empty client_secret (simple-oauth2's
// default, in the body or in Basic), a loopback redirect URI on whatever port the app listens on
// (RFC 8252 §7.3), and an omitted redirect_uri when exactly one is registered (RFC 6749 §4.1.1,
// §4.1.3). And what stays refused: another loopback host, another path, a confidential client's
// empty secret.
import { test } from 'tap';
import * as client from 'openid-client';
import { redirectUriMatches } from '../../src/oauth/clients.js';
import { registerAndLogin, uniqueEmail, PASSWORD } from '../helpers.js';
import { FORM, basic, form, openLoginForm, register, startIssuer, submitLogin } from '../oauth-helpers.js';
import type { TestAuth } from '../helpers.js';
import type { RegisteredClient } from '../oauth-helpers.js';

const CHALLENGE_VERIFIER = 'dBjftJeZ4CVP-mJ92K1rBhJrwdE8Q4x3G_rqnB1Ak9N0cdc'; // 47 unreserved characters

async function codeFor(auth: TestAuth, app: RegisteredClient, email: string, redirectUri: string | undefined): Promise<{ status: number; location: URL | undefined }> {
  const url = new URL(`${auth.base}/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: app.id,
    ...(redirectUri === undefined ? {} : { redirect_uri: redirectUri }),
    code_challenge: await client.calculatePKCECodeChallenge(CHALLENGE_VERIFIER),
    code_challenge_method: 'S256',
    state: 's',
  }).toString();
  const page = await openLoginForm(url);
  if (page.status !== 200) return { status: page.status, location: undefined };
  const res = await submitLogin(auth, page, email, PASSWORD);
  return { status: res.status, location: res.status === 303 ? new URL(res.headers.get('location')!) : undefined };
}

async function exchange(auth: TestAuth, params: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${auth.base}/oauth/token`, { method: 'POST', headers: { ...FORM, ...headers }, body: form({ grant_type: 'authorization_code', code_verifier: CHALLENGE_VERIFIER, ...params }) });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

test('redirect URI matching: exact, loopback IPs on any port, omitted when only one', async (t) => {
  t.ok(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb'));
  t.ok(redirectUriMatches('http://127.0.0.1:4000/cb', 'http://127.0.0.1:51234/cb'), 'a registered port may change too');
  t.ok(redirectUriMatches('http://[::1]/cb', 'http://[::1]:8123/cb'));
  t.ok(redirectUriMatches('http://127.0.0.1/cb?a=1', 'http://127.0.0.1:9/cb?a=1'));
  for (const [registered, presented, what] of [
    ['http://127.0.0.1/cb', 'http://localhost:51234/cb', 'another loopback name'],
    ['http://127.0.0.1/cb', 'http://127.0.0.2:51234/cb', 'another loopback address'],
    ['http://127.0.0.1/cb', 'http://[::1]:51234/cb', 'the other IP version'],
    ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb2', 'another path'],
    ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb?x=1', 'an added query'],
    ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/cb#f', 'a fragment'],
    ['http://127.0.0.1/cb', 'https://127.0.0.1:51234/cb', 'another scheme'],
    ['http://127.0.0.1/cb', 'http://user@127.0.0.1:51234/cb', 'credentials'],
    ['http://127.0.0.1/cb', 'http://127.0.0.1:51234/x/../cb', 'a path not in normal form'],
    ['http://localhost:4000/cb', 'http://localhost:4001/cb', 'localhost is a name: exact match only'],
    ['https://app.example/cb', 'https://app.example:8443/cb', 'not loopback: exact match only'],
  ] as const) {
    t.notOk(redirectUriMatches(registered, presented), what);
  }

  const auth = await startIssuer(t);
  const { email } = await registerAndLogin(auth.base, uniqueEmail('interop'));
  const native = await register(auth, { name: 'native', public: true, firstParty: true, grants: ['authorization_code'], redirectUris: ['http://127.0.0.1/callback', 'http://[::1]/callback'] });
  for (const host of ['127.0.0.1', '[::1]']) {
    const redirect = `http://${host}:53123/callback`;
    const got = await codeFor(auth, native, email, redirect);
    t.equal(got.status, 303, `${host} on an unregistered port: signed in`);
    t.equal(`${got.location!.origin}${got.location!.pathname}`, redirect, 'back to that port');
    const tokens = await exchange(auth, { client_id: native.id, code: got.location!.searchParams.get('code')!, redirect_uri: redirect });
    t.equal(tokens.status, 200, `${host}: the code exchanges with the same URI`);
  }
  const wrongPort = await codeFor(auth, native, email, 'http://127.0.0.1:53123/callback');
  t.equal((await exchange(auth, { client_id: native.id, code: wrongPort.location!.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:53124/callback' })).status, 400, 'the token request must name the port the code was sent to');
  t.equal((await codeFor(auth, native, email, 'http://localhost:53123/callback')).status, 400, 'loopback with another host: the error page');
  t.equal((await codeFor(auth, native, email, undefined)).status, 400, 'omitted while two are registered: the error page');

  const single = await register(auth, { name: 'single', public: true, firstParty: true, grants: ['authorization_code'], redirectUris: ['https://single.example/cb'] });
  const omitted = await codeFor(auth, single, email, undefined);
  t.equal(omitted.status, 303, 'omitted at /oauth/authorize with one registered');
  t.equal(`${omitted.location!.origin}${omitted.location!.pathname}`, 'https://single.example/cb');
  t.equal((await exchange(auth, { client_id: single.id, code: omitted.location!.searchParams.get('code')! })).status, 200, 'and omitted at the token request');
});

test("a public client's empty client_secret is no secret; a confidential client's is refused", async (t) => {
  const auth = await startIssuer(t);
  const { email } = await registerAndLogin(auth.base, uniqueEmail('empty'));
  const publicApp = await register(auth, { name: 'spa', public: true, firstParty: true, grants: ['authorization_code'], redirectUris: ['https://spa.example/cb'] });
  const confidential = await register(auth, { name: 'web', firstParty: true, grants: ['authorization_code'], redirectUris: ['https://web.example/cb'] });
  const body = await codeFor(auth, publicApp, email, undefined);
  t.equal((await exchange(auth, { client_id: publicApp.id, client_secret: '', code: body.location!.searchParams.get('code')! })).status, 200, 'client_secret= in the body');
  const header = await codeFor(auth, publicApp, email, undefined);
  t.equal((await exchange(auth, { code: header.location!.searchParams.get('code')! }, basic(publicApp.id, ''))).status, 200, 'Basic with an empty secret');
  const wrong = await exchange(auth, { client_id: publicApp.id, client_secret: 'something', code: 'x' });
  t.equal(wrong.status, 401, 'a public client sending a real secret is still refused');
  const conf = await codeFor(auth, confidential, email, undefined);
  const empty = await exchange(auth, { client_id: confidential.id, client_secret: '', code: conf.location!.searchParams.get('code')! });
  t.equal(empty.status, 401, "a confidential client's empty secret");
  t.equal(empty.body.error, 'invalid_client');
});
