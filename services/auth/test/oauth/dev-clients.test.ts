// The development stack's own clients (the SPA demo's keygate-spa): registered under a fixed id
// once, found again on every later start, never overwritten, and held to the registry's rules.
import { test } from 'tap';
import { ensureDevClient } from '../../src/oauth/dev-clients.js';
import { findClient } from '../../src/oauth/clients.js';
import { startAuth } from '../helpers.js';

const SPEC = {
  name: 'keygate SPA demo',
  public: true,
  grants: ['authorization_code', 'refresh_token'],
  redirectUris: ['http://127.0.0.1:8090/callback'],
  scopes: ['openid', 'email', 'orders:read', 'orders:write'],
  firstParty: false,
  introspect: false,
  postLogoutRedirectUris: ['http://127.0.0.1:8090/'],
};

test('ensureDevClient registers once, keeps what exists, and says when it differs', async (t) => {
  const auth = await startAuth(t);
  const db = auth.ctx.db;
  t.equal(await ensureDevClient(db, 'keygate-spa', SPEC), 'created');
  const row = await findClient(db, 'keygate-spa');
  t.equal(row?.public, true);
  t.equal(row?.secret_hash, null, 'a public client has no secret');
  t.equal(row?.first_party, false);
  t.same(row?.redirect_uris, SPEC.redirectUris);
  t.same(row?.post_logout_redirect_uris, SPEC.postLogoutRedirectUris);
  t.equal(await ensureDevClient(db, 'keygate-spa', { ...SPEC, scopes: [...SPEC.scopes].reverse() }), 'kept', 'a restart finds it (order does not matter)');
  t.equal(await ensureDevClient(db, 'keygate-spa', { ...SPEC, redirectUris: ['http://127.0.0.1:9999/callback'] }), 'differs');
  t.equal(await ensureDevClient(db, 'keygate-spa', { ...SPEC, postLogoutRedirectUris: [] }), 'differs', 'post-logout URIs count too');
  t.same((await findClient(db, 'keygate-spa'))?.redirect_uris, SPEC.redirectUris, 'and is never overwritten');
  await t.rejects(ensureDevClient(db, 'keygate-bad', { ...SPEC, scopes: ['account'] }), /first-party/, 'the registry’s rules hold');
  t.equal(await findClient(db, 'keygate-bad'), undefined);
});
