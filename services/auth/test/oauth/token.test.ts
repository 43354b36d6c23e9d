// POST /oauth/token, /oauth/revoke, /oauth/introspect and discovery, driven by openid-client v6
// (unchanged) against the auth service listening on 127.0.0.1 with ISSUER set to its own URL.
import { test } from 'tap';
import * as client from 'openid-client';
import { scrapeMetrics } from '@keygate/testing';
import { FIRST_PARTY_CLIENT_ID } from '../../src/context.js';
import { findSession } from '../../src/sessions/repository.js';
import { claimsOf, http, registerAndLogin, uniqueEmail, PASSWORD } from '../helpers.js';
import { FORM, basic, discover, form, oauthFailure, register, startIssuer } from '../oauth-helpers.js';

test('OAuth token, revocation and introspection endpoints with openid-client', async (t) => {
  const auth = await startIssuer(t);
  const service = await register(auth, { name: 'billing', grants: ['client_credentials'], scopes: ['orders:read', 'orders:write'] });
  const other = await register(auth, { name: 'reports', grants: ['client_credentials'] });
  const resourceServer = await register(auth, { name: 'orders api', grants: ['client_credentials'], introspect: true });
  const firstParty = { id: FIRST_PARTY_CLIENT_ID, secret: undefined };

  await t.test('discovery from the issuer lists exactly what is served, on both well-known paths', async (t) => {
    const oidc = await discover(auth, service, 'basic', 'oidc');
    const oauth2 = await discover(auth, service, 'basic', 'oauth2');
    const meta = oidc.serverMetadata();
    t.same(oauth2.serverMetadata(), meta, 'both documents are the same');
    t.equal(meta.issuer, auth.base);
    t.equal(meta.token_endpoint, `${auth.base}/oauth/token`);
    t.equal(meta.authorization_endpoint, `${auth.base}/oauth/authorize`);
    t.same(meta.grant_types_supported, ['authorization_code', 'password', 'refresh_token', 'client_credentials']);
    t.same(meta.code_challenge_methods_supported, ['S256']);
    t.same(meta.response_types_supported, ['code']);
    // Every advertised endpoint exists: unauthenticated calls are refused, never 404.
    for (const endpoint of [meta.token_endpoint!, meta.revocation_endpoint!, meta.introspection_endpoint!]) {
      const res = await fetch(endpoint, { method: 'POST', headers: FORM, body: form({ grant_type: 'client_credentials', token: 'x' }) });
      t.equal(res.status, 401, `${endpoint} exists and wants client authentication`);
    }
    t.equal((await fetch(meta.authorization_endpoint!)).status, 400, 'the authorization endpoint exists');
  });

  await t.test('client_credentials with client_secret_basic and client_secret_post', async (t) => {
    for (const method of ['basic', 'post'] as const) {
      const config = await discover(auth, service, method);
      const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:read' });
      t.equal(tokens.token_type, 'bearer');
      t.equal(tokens.expires_in, auth.config.accessTokenTtl);
      t.equal(tokens.scope, 'orders:read', `${method}: scope is what was requested`);
      t.notOk(tokens.refresh_token, 'no refresh token for a service account');
      const claims = claimsOf(tokens.access_token);
      t.match(claims, { sub: service.id, client_id: service.id, role: 'service', scope: 'orders:read', iss: auth.base, aud: auth.config.audience });
      t.notOk('sid' in claims, 'no sid for client_credentials');
    }
    const all = await client.clientCredentialsGrant(await discover(auth, service));
    t.equal(all.scope, 'orders:read orders:write', 'no scope asked: everything allowed');
    t.match(await oauthFailure(client.clientCredentialsGrant(await discover(auth, service), { scope: 'admin' })), { error: 'invalid_scope', status: 400 });
    t.match(await oauthFailure(client.clientCredentialsGrant(await discover(auth, service), { scope: 'orders:read notifications:read' })), { error: 'invalid_scope', status: 400 }, 'more than registered is refused, not narrowed');
    const bare = await client.clientCredentialsGrant(await discover(auth, other));
    t.equal(bare.scope, undefined, 'a client without scopes gets no scope claim');
    t.notOk('scope' in claimsOf(bare.access_token));
    // Raw: the response headers.
    const raw = await fetch(`${auth.base}/oauth/token`, { method: 'POST', headers: { ...FORM, ...basic(service.id, service.secret!) }, body: form({ grant_type: 'client_credentials' }) });
    t.equal(raw.status, 200);
    t.equal(raw.headers.get('cache-control'), 'no-store');
    t.equal(raw.headers.get('pragma'), 'no-cache');
    // A service token is for the APIs, not for the account routes of the auth service.
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: { authorization: `Bearer ${bare.access_token}` } })).status, 401);
  });

  await t.test('password grant (first-party public client) and refresh with rotation and theft detection', async (t) => {
    const { email, userId } = await registerAndLogin(auth.base, uniqueEmail('oauth'));
    const config = await discover(auth, firstParty, 'none');
    const first = await client.genericGrantRequest(config, 'password', { username: email, password: PASSWORD });
    t.ok(first.refresh_token, 'a refresh token');
    const claims = claimsOf(first.access_token);
    t.match(claims, { sub: userId, role: 'user', client_id: FIRST_PARTY_CLIENT_ID });
    t.type(claims.sid, 'string');
    t.equal((await http(auth.base, 'GET', '/auth/me', { headers: { authorization: `Bearer ${first.access_token}` } })).status, 200);
    // Written by the same statement as the session, with the grant's details.
    const logins = await auth.ctx.db.selectFrom('auth.audit_events').select(['event', 'user_id', 'details']).where('session_id', '=', claims.sid as string).execute();
    t.same(logins, [{ event: 'login_success', user_id: userId, details: { client_id: FIRST_PARTY_CLIENT_ID, grant: 'password' } }]);

    const second = await client.refreshTokenGrant(config, first.refresh_token!);
    t.not(second.refresh_token, first.refresh_token, 'rotated');
    t.equal(claimsOf(second.access_token).sid, claims.sid, 'same session');
    const third = await client.refreshTokenGrant(config, second.refresh_token!);
    t.ok(third.refresh_token);
    // The first token is spent and its successor used: presenting it again is theft.
    t.match(await oauthFailure(client.refreshTokenGrant(config, first.refresh_token!)), { error: 'invalid_grant', status: 400 });
    const session = await findSession(auth.ctx.db, claims.sid as string);
    t.equal(session?.revoked_reason, 'refresh_token_reuse', 'the whole session is revoked');
    t.match(await oauthFailure(client.refreshTokenGrant(config, third.refresh_token!)), { error: 'invalid_grant' }, 'every later token of it too');

    t.match(await oauthFailure(client.genericGrantRequest(config, 'password', { username: email, password: 'wrong password' })), { error: 'invalid_grant', status: 400 });
    t.match(await oauthFailure(client.genericGrantRequest(config, 'password', { username: email })), { error: 'invalid_request', status: 400 });
    // The refresh token of one client is useless to another, and is not spent by the attempt.
    const fresh = await client.genericGrantRequest(config, 'password', { username: email, password: PASSWORD });
    const stranger = await register(auth, { name: 'spa', grants: ['refresh_token', 'authorization_code'], public: true, redirectUris: ['http://localhost:3000/cb'] });
    t.match(await oauthFailure(client.refreshTokenGrant(await discover(auth, stranger, 'none'), fresh.refresh_token!)), { error: 'invalid_grant' });
    t.ok((await client.refreshTokenGrant(config, fresh.refresh_token!)).access_token, 'still usable by its own client');
    // A public client cannot present a secret; a confidential one cannot use the password grant.
    t.match(await oauthFailure(client.genericGrantRequest(await discover(auth, { id: FIRST_PARTY_CLIENT_ID, secret: 'guess' }, 'post'), 'password', { username: email, password: PASSWORD })), { error: 'invalid_client', status: 401 });
    t.match(await oauthFailure(client.genericGrantRequest(await discover(auth, service), 'password', { username: email, password: PASSWORD })), { error: 'unauthorized_client', status: 400 });
  });

  await t.test('revocation (RFC 7009) and introspection (RFC 7662)', async (t) => {
    const config = await discover(auth, service);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'orders:write' });
    const live = await client.tokenIntrospection(config, tokens.access_token);
    t.match(live, { active: true, client_id: service.id, sub: service.id, role: 'service', scope: 'orders:write', token_type: 'Bearer', iss: auth.base });
    t.equal(live.jti, claimsOf(tokens.access_token).jti);
    t.same(await client.tokenIntrospection(config, 'not-a-token'), { active: false });

    // Another client cannot revoke it (answered 200 all the same, RFC 7009 §2.2).
    await client.tokenRevocation(await discover(auth, other), tokens.access_token);
    t.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true, "another client's revocation does nothing");
    await client.tokenRevocation(config, tokens.access_token);
    t.same(await client.tokenIntrospection(config, tokens.access_token), { active: false }, 'revoked by jti');
    const revokedSet = await auth.ctx.bus.listExpiring('revoked');
    t.ok(revokedSet.some((m) => m.member === `token:${live.jti}`), 'the gateways are told (type "token")');
    await client.tokenRevocation(config, 'an unknown token');
    const unknown = await fetch(`${auth.base}/oauth/revoke`, { method: 'POST', headers: { ...FORM, ...basic(service.id, service.secret!) }, body: form({ token: 'an unknown token' }) });
    t.equal(unknown.status, 200, 'an unknown token is 200 (RFC 7009 §2.2)');
    t.equal(await unknown.text(), '', 'with an empty body');
    t.equal(unknown.headers.get('cache-control'), 'no-store');

    // A user's refresh token: revoking it ends the session; introspection follows.
    const { email } = await registerAndLogin(auth.base, uniqueEmail('revoke'));
    const web = await discover(auth, firstParty, 'none');
    const user = await client.genericGrantRequest(web, 'password', { username: email, password: PASSWORD });
    const resource = await discover(auth, resourceServer);
    t.equal((await client.tokenIntrospection(resource, user.access_token)).active, true, 'a resource server (--introspect) introspects a user token');
    t.same(await client.tokenIntrospection(config, user.access_token), { active: false }, 'any other client learns nothing of it');
    t.same(await client.tokenIntrospection(resource, user.refresh_token!), { active: false }, "another client's refresh token is not described, even to a resource server");
    await client.tokenRevocation(web, user.refresh_token!);
    t.match(await oauthFailure(client.refreshTokenGrant(web, user.refresh_token!)), { error: 'invalid_grant' });
    t.same(await client.tokenIntrospection(resource, user.access_token), { active: false }, 'its access token is inactive with the session');

    // Introspection needs a confidential, authenticated client.
    t.match(await oauthFailure(client.tokenIntrospection(web, user.access_token)), { error: 'invalid_client', status: 401 });
    t.match(await oauthFailure(client.tokenIntrospection(await discover(auth, { id: service.id, secret: 'wrong' }), tokens.access_token)), { error: 'invalid_client', status: 401 });
    const raw = await fetch(`${auth.base}/oauth/introspect`, { method: 'POST', headers: { ...FORM, ...basic(service.id, service.secret!) }, body: form({ token: tokens.access_token }) });
    t.equal(raw.headers.get('cache-control'), 'no-store');
    t.same(await raw.json(), { active: false });
  });

  await t.test('RFC 6749 §5.2 errors', async (t) => {
    const config = await discover(auth, service);
    const wrongBasic = await oauthFailure(client.clientCredentialsGrant(await discover(auth, { id: service.id, secret: 'wrong' }, 'basic')));
    t.equal(wrongBasic.error, 'invalid_client');
    t.equal(wrongBasic.status, 401);
    t.match(wrongBasic.wwwAuthenticate, /^Basic realm="keygate"/, 'Basic challenge');
    t.match(await oauthFailure(client.clientCredentialsGrant(await discover(auth, { id: service.id, secret: 'wrong' }, 'post'))), { error: 'invalid_client', status: 401 });
    t.match(await oauthFailure(client.clientCredentialsGrant(await discover(auth, { id: 'nobody', secret: 'x' }, 'basic'))), { error: 'invalid_client', status: 401 });
    t.match(await oauthFailure(client.genericGrantRequest(config, 'urn:example:unknown', {})), { error: 'unsupported_grant_type', status: 400 });
    t.match(await oauthFailure(client.genericGrantRequest(config, 'authorization_code', { code: 'x', redirect_uri: 'https://a.example/cb', code_verifier: 'v'.repeat(43) })), { error: 'unauthorized_client', status: 400 }, 'a grant this client is not registered for');

    const post = (body: string, headers: Record<string, string> = {}) => http(auth.base, 'POST', '/oauth/token', { body, headers: { ...FORM, ...basic(service.id, service.secret!), ...headers } });
    const missing = await post(form({ scope: 'orders:read' }));
    t.equal(missing.status, 400);
    t.match(missing.body, { error: 'invalid_request' }, 'no grant_type');
    t.equal(missing.headers.get('cache-control'), 'no-store', 'errors are not cached either');
    const repeated = await post('grant_type=client_credentials&grant_type=client_credentials');
    t.match(repeated, { status: 400, body: { error: 'invalid_request' } }, 'a repeated parameter');
    const both = await post(form({ grant_type: 'client_credentials', client_secret: service.secret! }));
    t.match(both, { status: 400, body: { error: 'invalid_request' } }, 'two client authentication methods');
    const json = await http(auth.base, 'POST', '/oauth/token', { json: { grant_type: 'client_credentials' }, headers: basic(service.id, service.secret!) });
    t.match(json, { status: 415, body: { error: 'unsupported_media_type' } }, 'JSON is not the token endpoint format');
    const malformedBasic = await post(form({ grant_type: 'client_credentials' }), { authorization: 'Basic !!!' });
    t.match(malformedBasic, { status: 401, body: { error: 'invalid_client' } });
    const metrics = await scrapeMetrics(auth.app);
    t.match(metrics, /auth_oauth_token_requests_total\{grant="client_credentials",outcome="issued",service="auth"\} [1-9]/, 'issued tokens are counted');
    t.match(metrics, /auth_oauth_token_requests_total\{grant="client_credentials",outcome="invalid_client",service="auth"\} [1-9]/, 'failures by error code');
    t.match(metrics, /auth_oauth_token_requests_total\{grant="unknown",outcome="unsupported_grant_type",service="auth"\} 1/, 'unknown grants share one label');
    // The JSON routes still refuse form bodies.
    const jsonRoute = await http(auth.base, 'POST', '/auth/login', { body: form({ email: 'a@b.c', password: 'x' }), headers: FORM });
    t.equal(jsonRoute.status, 415);
  });
});

test('PASSWORD_GRANT_ENABLED=false switches the password grant off, in metadata too', async (t) => {
  const auth = await startIssuer(t, { PASSWORD_GRANT_ENABLED: 'false' });
  const { email } = await registerAndLogin(auth.base, uniqueEmail('nopw'));
  const config = await discover(auth, { id: FIRST_PARTY_CLIENT_ID, secret: undefined }, 'none');
  t.notOk(config.serverMetadata().grant_types_supported?.includes('password'));
  t.match(await oauthFailure(client.genericGrantRequest(config, 'password', { username: email, password: PASSWORD })), { error: 'unsupported_grant_type', status: 400 });
});
