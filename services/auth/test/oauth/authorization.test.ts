// Authorization by what a token was granted (contract, "Authorization: clients, scopes,
// first-party"), tried as the attack of issue 15 did: a third-party client registered for
// orders:read has an admin sign in; its token carries the admin's role but neither the `account`
// nor the `admin` scope, so the auth service refuses it everywhere but where orders:read leads.
import { test } from 'tap';
import * as client from 'openid-client';
import { ACCOUNT_SCOPE, ADMIN_SCOPE, firstPartySessionScope } from '@keygate/tokens';
import { FIRST_PARTY_CLIENT_ID } from '../../src/context.js';
import { authorizeCaller, type Caller } from '../../src/http/authenticate.js';
import { findSession } from '../../src/sessions/repository.js';
import type { UserRow } from '../../src/db/schema.js';
import { PASSWORD, bearer, claimsOf, cookieHeader, http, login, refresh, refreshCookieValue, registerAndLogin, uniqueEmail } from '../helpers.js';
import { REDIRECT, authorize, discover, oauthFailure, register, startFlow, startIssuer } from '../oauth-helpers.js';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'admin password 1';

test('a third-party client cannot turn an admin sign-in into account or admin access', async (t) => {
  const auth = await startIssuer(t, { ADMIN_EMAIL, ADMIN_PASSWORD });
  const thirdParty = await register(auth, { name: 'order viewer', grants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['orders:read'] });
  const victim = await registerAndLogin(auth.base, uniqueEmail('victim'));
  const adminLogin = await login(auth.base, ADMIN_EMAIL, ADMIN_PASSWORD);

  // The admin signs in on the third-party client's login page; the client gets its tokens.
  const flow = await startFlow(auth, thirdParty, 'basic');
  const landed = await authorize(auth, flow, ADMIN_EMAIL, ADMIN_PASSWORD);
  const tokens = await client.authorizationCodeGrant(flow.config, landed, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
  const claims = claimsOf(tokens.access_token);
  t.match(claims, { role: 'admin', client_id: thirdParty.id, scope: 'orders:read' }, "the admin's role, the client's scope");
  const stolen = bearer(tokens.access_token);

  await t.test('every account and admin endpoint answers 403 insufficient_scope naming the scope', async (t) => {
    const attempts: Array<[string, string, string, unknown]> = [
      ['GET', '/admin/users', ADMIN_SCOPE, undefined],
      ['PATCH', `/admin/users/${victim.userId}`, ADMIN_SCOPE, { role: 'admin' }],
      ['GET', '/auth/me', ACCOUNT_SCOPE, undefined],
      ['GET', '/auth/sessions', ACCOUNT_SCOPE, undefined],
      ['DELETE', `/auth/sessions/${claims.sid as string}`, ACCOUNT_SCOPE, undefined],
      ['POST', '/auth/password', ACCOUNT_SCOPE, { current_password: ADMIN_PASSWORD, new_password: 'a brand new password' }],
      ['POST', '/auth/logout-all', ACCOUNT_SCOPE, undefined],
      ['POST', '/auth/logout', ACCOUNT_SCOPE, undefined],
    ];
    for (const [method, path, scope, json] of attempts) {
      const res = await http(auth.base, method, path, { headers: stolen, json });
      t.equal(res.status, 403, `${method} ${path}`);
      t.match(res.body, { error: 'insufficient_scope' }, `${method} ${path}`);
      t.equal(res.headers.get('www-authenticate'), `Bearer error="insufficient_scope", scope="${scope}"`, `${method} ${path} names ${scope}`);
    }
    // Nothing happened: the victim is still a user, every session lives, the password is unchanged.
    const victimNow = await http(auth.base, 'GET', '/auth/me', { headers: bearer(victim.accessToken) });
    t.match(victimNow.body, { role: 'user' }, 'the PATCH changed nothing');
    t.equal((await findSession(auth.ctx.db, claims.sid as string))?.revoked_at, null, 'the session was neither deleted nor logged out');
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: bearer(adminLogin.accessToken) })).status, 200, 'logout-all revoked nothing');
    await login(auth.base, ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  await t.test("the admin's own first-party login token works on the same endpoints", async (t) => {
    t.equal(claimsOf(adminLogin.accessToken).scope, firstPartySessionScope('admin'));
    const own = bearer(adminLogin.accessToken);
    t.equal((await http(auth.base, 'GET', '/admin/users', { headers: own })).status, 200);
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: own })).status, 200);
    t.equal((await http(auth.base, 'GET', '/auth/sessions', { headers: own })).status, 200);
    const patched = await http(auth.base, 'PATCH', `/admin/users/${victim.userId}`, { headers: own, json: { disabled: false } });
    t.equal(patched.status, 200);
  });

  await t.test("the client's refresh token as the refresh cookie: 401 invalid_grant, and not spent", async (t) => {
    const res = await http(auth.base, 'POST', '/auth/refresh', { headers: cookieHeader(tokens.refresh_token!) });
    t.equal(res.status, 401);
    t.match(res.body, { error: 'invalid_grant' });
    t.equal(refreshCookieValue(res.cookies), '', 'the cookie is cleared');
    const session = await findSession(auth.ctx.db, claims.sid as string);
    t.equal(session?.revoked_at, null, 'the session is not revoked (no theft detection for a token in the wrong place)');
    const logout = await http(auth.base, 'POST', '/auth/logout', { headers: cookieHeader(tokens.refresh_token!) });
    t.equal(logout.status, 204, 'logout by cookie answers as always');
    t.equal((await findSession(auth.ctx.db, claims.sid as string))?.revoked_at, null, "but does not end another client's session");
    // Its own client, with its own authentication, still refreshes it: it was not spent.
    const refreshed = await client.refreshTokenGrant(flow.config, tokens.refresh_token!);
    t.equal(refreshed.scope, 'orders:read');
    t.match(claimsOf(refreshed.access_token), { role: 'admin', scope: 'orders:read', sid: claims.sid });
    t.equal((await http(auth.base, 'GET', '/admin/users', { headers: bearer(refreshed.access_token) })).status, 403, 'a refresh adds nothing');

    // A refresh never widens: asking for more is invalid_scope, and the token survives that too.
    t.match(await oauthFailure(client.refreshTokenGrant(flow.config, refreshed.refresh_token!, { scope: 'orders:read admin' })), { error: 'invalid_scope', status: 400 });
    t.match(await oauthFailure(client.refreshTokenGrant(flow.config, refreshed.refresh_token!, { scope: 'account' })), { error: 'invalid_scope', status: 400 });
    const again = await client.refreshTokenGrant(flow.config, refreshed.refresh_token!);
    t.equal(claimsOf(again.access_token).scope, 'orders:read', 'still usable, still orders:read only');
  });
});

test('first-party sessions: the scope stored at login is the scope of every refresh', async (t) => {
  const auth = await startIssuer(t);
  const user = await registerAndLogin(auth.base, uniqueEmail('web'));
  const sid = claimsOf(user.accessToken).sid as string;
  t.equal((await findSession(auth.ctx.db, sid))?.scope, firstPartySessionScope('user'), 'stored at login');

  const res = await refresh(auth.base, user.refreshToken);
  t.equal(res.status, 200);
  t.equal(claimsOf((res.body as { access_token: string }).access_token).scope, firstPartySessionScope('user'), 'carried by the refresh');

  // A session whose stored scope is narrower than what a login grants today stays narrow.
  await auth.ctx.db.updateTable('auth.sessions').set({ scope: 'orders:read' }).where('id', '=', sid).execute();
  const narrow = await refresh(auth.base, refreshCookieValue(res.cookies)!);
  t.equal(narrow.status, 200);
  const narrowToken = (narrow.body as { access_token: string }).access_token;
  t.equal(claimsOf(narrowToken).scope, 'orders:read', 'never recomputed, never widened');
  t.equal((await http(auth.base, 'GET', '/auth/me', { headers: bearer(narrowToken) })).status, 403);

  // And a session without a stored scope grants nothing at all (fail closed).
  await auth.ctx.db.updateTable('auth.sessions').set({ scope: null }).where('id', '=', sid).execute();
  const none = await refresh(auth.base, refreshCookieValue(narrow.cookies)!);
  t.equal(none.status, 200);
  const noneToken = (none.body as { access_token: string }).access_token;
  t.notOk('scope' in claimsOf(noneToken), 'no scope claim');
  t.equal((await http(auth.base, 'GET', '/auth/sessions', { headers: bearer(noneToken) })).status, 403);

  // The password grant of keygate-web grants from its registration, admin only for admins.
  const web = await discover(auth, { id: FIRST_PARTY_CLIENT_ID, secret: undefined }, 'none');
  const pw = await client.genericGrantRequest(web, 'password', { username: user.email, password: PASSWORD });
  t.same(pw.scope?.split(' ').sort(), firstPartySessionScope('user').split(' ').sort(), 'the first-party scope, no admin for a user');
  t.match(await oauthFailure(client.genericGrantRequest(web, 'password', { username: user.email, password: PASSWORD, scope: 'account openid' })), { error: 'invalid_scope' }, 'a scope keygate-web is not registered with');
  const narrowPw = await client.genericGrantRequest(web, 'password', { username: user.email, password: PASSWORD, scope: 'account admin' });
  t.equal(narrowPw.scope, 'account', 'admin asked by a user is dropped, not refused: the client may hold it, the user cannot give it');
});

test('the password grant is for first-party clients; admin only reaches admins', async (t) => {
  const auth = await startIssuer(t, { ADMIN_EMAIL, ADMIN_PASSWORD });
  const user = await registerAndLogin(auth.base, uniqueEmail('plain'));
  // A third-party public client cannot be registered for the password grant (registry and CHECK).
  await t.rejects(
    auth.ctx.db.insertInto('auth.oauth_clients').values({ id: 'sneaky', name: 'sneaky', public: true, secret_hash: null, grant_types: ['password'] }).execute(),
    'the database refuses a third-party password client',
  );
  await t.rejects(
    auth.ctx.db.insertInto('auth.oauth_clients').values({ id: 'sneaky', name: 'sneaky', public: true, secret_hash: null, grant_types: ['authorization_code'], redirect_uris: [REDIRECT], scopes: ['admin'] }).execute(),
    'and a third-party client holding admin',
  );
  // A first-party client registered without the password grant may not use it.
  const console_ = await register(auth, { name: 'console', public: true, firstParty: true, grants: ['authorization_code'], redirectUris: [REDIRECT], scopes: ['account', 'admin', 'orders:read'] });
  const config = await discover(auth, console_, 'none');
  t.match(await oauthFailure(client.genericGrantRequest(config, 'password', { username: user.email, password: PASSWORD })), { error: 'unauthorized_client', status: 400 });

  await t.test('a user authorizing a first-party client registered with admin gets no admin scope', async (t) => {
    const flow = await startFlow(auth, console_, 'none');
    const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, user.email), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    t.equal(tokens.scope, 'account orders:read');
    t.equal(claimsOf(tokens.access_token).scope, 'account orders:read');
    t.equal((await findSession(auth.ctx.db, claimsOf(tokens.access_token).sid as string))?.scope, 'account orders:read', 'nor does its session');
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: bearer(tokens.access_token) })).status, 200, 'account works');
    t.equal((await http(auth.base, 'GET', '/admin/users', { headers: bearer(tokens.access_token) })).status, 403);
  });

  await t.test('an admin authorizing it gets admin, and /admin/* works', async (t) => {
    const flow = await startFlow(auth, console_, 'none', { scope: 'admin' });
    const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, ADMIN_EMAIL, ADMIN_PASSWORD), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
    t.equal(tokens.scope, 'admin');
    t.equal((await http(auth.base, 'GET', '/admin/users', { headers: bearer(tokens.access_token) })).status, 200);
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: bearer(tokens.access_token) })).status, 403, 'admin alone is not account');
  });

  await t.test('asking for a scope the client is not registered with is invalid_scope at the authorization endpoint', async (t) => {
    const flow = await startFlow(auth, console_, 'none', { scope: 'orders:read orders:write' });
    const res = await fetch(flow.url, { redirect: 'manual' });
    t.equal(res.status, 303);
    t.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'invalid_scope');
  });
});

test('introspection answers only the token\'s own client and resource servers', async (t) => {
  const auth = await startIssuer(t);
  const app = await register(auth, { name: 'app', grants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['orders:read'] });
  const foreign = await register(auth, { name: 'foreign', grants: ['client_credentials'], scopes: ['orders:read'] });
  const resourceServer = await register(auth, { name: 'orders api', grants: ['client_credentials'], introspect: true });
  const user = await registerAndLogin(auth.base, uniqueEmail('introspected'));
  const flow = await startFlow(auth, app, 'basic');
  const tokens = await client.authorizationCodeGrant(flow.config, await authorize(auth, flow, user.email), { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
  const asForeign = await discover(auth, foreign);
  const asResourceServer = await discover(auth, resourceServer);

  t.match(await client.tokenIntrospection(flow.config, tokens.access_token), { active: true, client_id: app.id, sub: user.userId, scope: 'orders:read' }, 'the owner');
  t.match(await client.tokenIntrospection(asResourceServer, tokens.access_token), { active: true, client_id: app.id, scope: 'orders:read' }, 'a resource server (--introspect)');
  t.same(await client.tokenIntrospection(asForeign, tokens.access_token), { active: false }, 'any other client: inactive, nothing else');

  t.match(await client.tokenIntrospection(flow.config, tokens.refresh_token!), { active: true, token_type: 'refresh_token', client_id: app.id, scope: 'orders:read' }, 'a refresh token, to its owner');
  t.same(await client.tokenIntrospection(asForeign, tokens.refresh_token!), { active: false }, 'not to another client');
  t.same(await client.tokenIntrospection(asResourceServer, tokens.refresh_token!), { active: false }, 'nor to a resource server, which is never handed refresh tokens');

  // A service token: its own client and resource servers only, too.
  const service = await client.clientCredentialsGrant(asForeign);
  t.match(await client.tokenIntrospection(asForeign, service.access_token), { active: true, role: 'service' });
  t.match(await client.tokenIntrospection(asResourceServer, service.access_token), { active: true });
  t.same(await client.tokenIntrospection(flow.config, service.access_token), { active: false });
  // The web login's tokens are keygate-web's: a plain confidential client learns nothing of them.
  t.same(await client.tokenIntrospection(asForeign, user.accessToken), { active: false });
  t.match(await client.tokenIntrospection(asResourceServer, user.accessToken), { active: true, client_id: FIRST_PARTY_CLIENT_ID });
});

test('metadata lists the product\'s scopes', async (t) => {
  const auth = await startIssuer(t);
  const meta = (await discover(auth, { id: FIRST_PARTY_CLIENT_ID, secret: undefined }, 'none')).serverMetadata();
  t.same(meta.scopes_supported, ['account', 'admin', 'orders:read', 'orders:write', 'notifications:read', 'notifications:write', 'openid', 'profile', 'email']);
});

test('authorizeCaller: the scope, and for /admin/* the role of both token and user', async (t) => {
  const caller = (scope: string | undefined, tokenRole: string, userRole: 'user' | 'admin'): Caller =>
    ({ token: { role: tokenRole, ...(scope !== undefined ? { scope } : {}) }, user: { role: userRole } as UserRow, sessionId: undefined }) as Caller;
  const forbidden = (scope: string, message: RegExp) => ({ code: 'insufficient_scope', statusCode: 403, headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"` }, message });
  t.doesNotThrow(() => authorizeCaller(caller('account admin', 'admin', 'admin'), { scope: ADMIN_SCOPE, role: 'admin' }));
  t.doesNotThrow(() => authorizeCaller(caller('orders:read account', 'user', 'user'), { scope: ACCOUNT_SCOPE }));
  t.throws(() => authorizeCaller(caller('admin', 'user', 'user'), { scope: ADMIN_SCOPE, role: 'admin' }), forbidden('admin', /admin role/), 'the scope without the role');
  t.throws(() => authorizeCaller(caller('admin', 'admin', 'user'), { scope: ADMIN_SCOPE, role: 'admin' }), forbidden('admin', /admin role/), 'a token minted before a demotion');
  t.throws(() => authorizeCaller(caller('orders:read', 'admin', 'admin'), { scope: ADMIN_SCOPE, role: 'admin' }), forbidden('admin', /scope "admin"/));
  t.throws(() => authorizeCaller(caller(undefined, 'user', 'user'), { scope: ACCOUNT_SCOPE }), forbidden('account', /scope "account"/), 'no scope claim at all');
  t.throws(() => authorizeCaller(caller('accounts', 'user', 'user'), { scope: ACCOUNT_SCOPE }), forbidden('account', /scope "account"/), 'whole scope tokens only');
});
