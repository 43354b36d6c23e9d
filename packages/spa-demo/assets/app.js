// keygate's SPA demo: what a front-end team copies. A public client (no secret can be kept in a
// browser) signs the user in with the authorization code flow + PKCE, and with OpenID Connect
// (scope openid + nonce) when the server offers it; keeps the tokens in memory only; calls the
// API through the gateway with CORS; refreshes with the refresh_token grant; and signs out with
// RP-initiated logout. docs/browser-apps.md explains each choice.
import * as oauth from '/oauth4webapi.js';

const $ = (id) => document.getElementById(id);
const show = (text, error = false) => Object.assign($('status'), { textContent: text, className: error ? 'error' : '' });

// Served beside this page by the stack: { issuer, client_id, scope }.
const config = await (await fetch('/config.json')).json();
const issuer = new URL(config.issuer);
const client = { client_id: config.client_id };
const clientAuth = oauth.None(); // public client: PKCE, not a secret, protects the code
const redirectUri = `${location.origin}/callback`;
// oauth4webapi insists on https; keygate in development is plain http on a loopback address.
const options = issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};

// Discovery: the gateway lets any origin read /.well-known/*.
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' }));
const oidc = as.scopes_supported?.includes('openid') === true;
const scope = oidc ? `openid email ${config.scope}` : config.scope;

// In memory only: gone on reload, out of reach of other tabs and of anything persisted to disk.
// (A script injected into this page could still use them: keep the CSP strict, tokens short-lived.)
let tokens;
let claims;

async function signIn() {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oidc ? oauth.generateRandomNonce() : undefined;
  // The browser leaves this page; only what the callback needs survives, in this tab, until then.
  sessionStorage.setItem('pending', JSON.stringify({ verifier, state, nonce }));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...(nonce ? { nonce } : {}),
  });
  location.assign(url);
}

async function completeSignIn() {
  const pending = JSON.parse(sessionStorage.getItem('pending') ?? 'null');
  sessionStorage.removeItem('pending');
  const current = new URL(location.href);
  history.replaceState(null, '', '/'); // the code must not stay in the address bar or the history
  if (!pending) throw new Error('No sign-in was in progress in this tab.');
  // Checks state and that the answer comes from this issuer; an `error=` answer throws here.
  const params = oauth.validateAuthResponse(as, client, current, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, pending.verifier, options);
  // With OIDC: validates the ID token (iss, aud, exp, nonce, at_hash…) that came with the tokens.
  tokens = await oauth.processAuthorizationCodeResponse(as, client, response, oidc ? { expectedNonce: pending.nonce, requireIdToken: true } : {});
  claims = oidc ? oauth.getValidatedIdTokenClaims(tokens) : undefined;
}

async function callOrders() {
  // The gateway answers a preflight for Authorization, then the call; a 401 body is readable too.
  const response = await fetch(new URL('/orders', issuer), { headers: { authorization: `Bearer ${tokens.access_token}` } });
  $('output').textContent = `${response.status}\n${await response.text()}`;
  show(`GET /orders answered ${response.status}.`, !response.ok);
}

async function refresh() {
  // Each refresh spends the refresh token and returns a new one (rotation): keep the newest.
  const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, options);
  tokens = { ...tokens, ...(await oauth.processRefreshTokenResponse(as, client, response)) };
  show('Tokens refreshed.');
}

function signOut() {
  const idToken = tokens?.id_token;
  tokens = claims = undefined;
  if (!as.end_session_endpoint || !idToken) return render();
  // RP-initiated logout: keygate ends the session (its refresh tokens too) and sends the browser
  // back to the registered post_logout_redirect_uri.
  const url = new URL(as.end_session_endpoint);
  url.search = new URLSearchParams({ client_id: client.client_id, id_token_hint: idToken, post_logout_redirect_uri: `${location.origin}/` });
  location.assign(url);
}

function render() {
  $('signed-in').hidden = !tokens;
  $('signed-out').hidden = !!tokens;
  $('claims').textContent = claims ? JSON.stringify(claims, null, 2) : '(no ID token: the server does not offer OpenID Connect)';
  if (tokens) show(`Signed in${claims ? ` as ${claims.email ?? claims.sub}` : ''}.`);
  else show('Signed out.');
}

/** Runs a button's action; every failure (an OAuth error, a network error) is shown, not swallowed. */
const action = (run) => async () => {
  try {
    await run();
  } catch (error) {
    show(error.error_description ?? error.message, true);
  }
};
$('sign-in').addEventListener('click', action(signIn));
$('orders').addEventListener('click', action(callOrders));
$('refresh').addEventListener('click', action(refresh));
$('sign-out').addEventListener('click', action(signOut));

try {
  if (location.pathname === '/callback') await completeSignIn();
  render();
} catch (error) {
  render();
  show(`Sign-in failed: ${error.error_description ?? error.message}`, true);
}
