// authctl clients create|list|rotate-secret|delete against the service's database, then the
// service itself accepting (or refusing) what the CLI made, through openid-client.
import { test } from 'tap';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import * as client from 'openid-client';
import { createTestEnvironment, freePort } from '@keygate/testing';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { findClient, validateClientSpec, type ClientSpec } from '../../src/oauth/clients.js';
import { authctl, run, type TestAuth } from '../helpers.js';
import { discover, oauthFailure } from '../oauth-helpers.js';

const ROOT = resolve(import.meta.dirname, '../../../..');

test('authctl clients, then the service honours what it made', async (t) => {
  const port = await freePort();
  const environment = await createTestEnvironment({ ISSUER: `http://127.0.0.1:${port}` });
  t.teardown(() => environment.cleanup());
  const env = environment.env;

  // From the repository root, as documented: pnpm authctl … (here --help, which needs no database).
  const viaPnpm = await run('pnpm', ['-s', 'authctl', 'clients', 'create', '--help'], { cwd: ROOT, env: { ...process.env, ...env } });
  t.match(viaPnpm.stdout, /^usage: authctl clients create --name <name> --grant <grant>/);
  // Runs before the app starts: embedded PGlite (under DATA_DIR) allows one process at a time.
  const created = await authctl(env, 'clients', 'create', '--name', 'billing', '--grant', 'client_credentials', '--scope', 'orders:read', '--json');
  t.equal(created.code, 0, created.stderr);
  const service = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  t.match(service, { client_id: /^[0-9a-f]{32}$/, client_secret: /^[A-Za-z0-9_-]{43}$/ });
  const spa = JSON.parse((await authctl(env, 'clients', 'create', '--name', 'spa', '--grant', 'authorization_code', '--grant', 'refresh_token', '--public', '--redirect-uri', 'http://localhost:3000/cb',
    '--post-logout-redirect-uri', 'http://localhost:3000/bye', '--post-logout-redirect-uri', 'https://spa.example/bye', '--json')).stdout) as Record<string, unknown>;
  t.same(Object.keys(spa), ['client_id'], 'a public client has no secret');
  const console_ = await authctl(env, 'clients', 'create', '--name', 'console', '--grant', 'password', '--public', '--first-party', '--scope', 'account', '--scope', 'admin', '--json');
  t.equal(console_.code, 0, console_.stderr);
  const api = await authctl(env, 'clients', 'create', '--name', 'orders api', '--grant', 'client_credentials', '--introspect', '--json');
  t.equal(api.code, 0, api.stderr);
  const doomed = JSON.parse((await authctl(env, 'clients', 'create', '--name', 'doomed', '--grant', 'client_credentials', '--json')).stdout) as { client_id: string; client_secret: string };

  const rotated = await authctl(env, 'clients', 'rotate-secret', service.client_id);
  t.equal(rotated.code, 0, rotated.stderr);
  t.match(rotated.stdout, /^client_id: \S+\nclient_secret: \S+\n\(the old secret no longer works/, 'text output');
  const newSecret = /client_secret: (\S+)/.exec(rotated.stdout)![1]!;
  t.not(newSecret, service.client_secret);
  t.equal((await authctl(env, 'clients', 'delete', doomed.client_id)).code, 0);

  const listed = await authctl(env, 'clients', 'list', '--json');
  t.equal(listed.code, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
  t.same(rows.map((r) => r.name), ['keygate web (first party)', 'billing', 'spa', 'console', 'orders api']);
  t.match(rows[0], { client_id: 'keygate-web', first_party: true, introspect: false, grant_types: ['password', 'refresh_token'] });
  t.match(rows[1], { client_id: service.client_id, type: 'confidential', first_party: false, introspect: false, grant_types: ['client_credentials'], scopes: ['orders:read'] });
  t.match(rows[2], { type: 'public', first_party: false, redirect_uris: ['http://localhost:3000/cb'], post_logout_redirect_uris: ['http://localhost:3000/bye', 'https://spa.example/bye'] });
  t.same(rows[1]!.post_logout_redirect_uris, [], 'none registered');
  t.match(rows[3], { type: 'public', first_party: true, introspect: false, grant_types: ['password'], scopes: ['account', 'admin'] });
  t.match(rows[4], { type: 'confidential', first_party: false, introspect: true });
  const text = await authctl(env, 'clients', 'list');
  t.match(text.stdout, /^client_id\tname\ttype\tparty\tintrospect\t/, 'the text table names both columns');
  t.match(text.stdout, /\tconsole\tpublic\tfirst\tno\tpassword\t/);
  t.match(text.stdout, /\torders api\tconfidential\tthird\tyes\tclient_credentials\t/);
  t.match(text.stdout, /\tspa\tpublic\tthird\tno\tauthorization_code,refresh_token\thttp:\/\/localhost:3000\/cb\thttp:\/\/localhost:3000\/bye,https:\/\/spa\.example\/bye\t/, 'post-logout URIs in the text table');
  t.notOk(listed.stdout.includes(newSecret) || /secret/.test(listed.stdout), 'list never shows secrets');

  // Clear errors, non-zero exit (the registration rules themselves are checked in-process below).
  const failures: Array<[string[], RegExp]> = [
    [['clients', 'create', '--grant', 'client_credentials'], /clients create needs --name\nusage: authctl clients create/],
    [['clients', 'create', '--name', 'x', '--grant', 'client_credentials', '--public'], /^client_credentials needs a confidential client/],
    // One line each, before the database is opened.
    [['clients', 'create', '--name', 'x', '--grant', 'client_credentials', '--scope', 'admin'], /^the scope "admin" is for first-party clients only \(add --first-party\)\n$/],
    [['clients', 'create', '--name', 'x', '--grant', 'password', '--public', '--scope', 'orders:read'], /^the password grant is for first-party clients only \(add --first-party\)\n$/],
    [['clients', 'create', '--name', 'x', '--grant', 'client_credentials', '--scope', 'orders:everything'], /^unknown scope "orders:everything" \(use [^\n]+\)\n$/],
    [['clients', 'rotate-secret', spa.client_id as string], /no confidential client with id/],
    [['clients', 'delete', 'nobody'], /no client with id nobody/],
  ];
  for (const [args, message] of failures) {
    const result = await authctl(env, ...args);
    t.equal(result.code, 1, `${args.join(' ')} exits 1`);
    t.match(result.stderr, message);
  }

  const app = await build(loadConfig(env));
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port });
  const auth = { base: `http://127.0.0.1:${port}` } as TestAuth;
  const stored = await findClient(app.authContext.db, service.client_id);
  t.same(stored?.secret_hash, createHash('sha256').update(newSecret).digest(), 'only the SHA-256 of the secret is stored');

  const tokens = await client.clientCredentialsGrant(await discover(auth, { id: service.client_id, secret: newSecret }));
  t.equal(tokens.scope, 'orders:read', 'the new secret works');
  t.match(await oauthFailure(client.clientCredentialsGrant(await discover(auth, { id: service.client_id, secret: service.client_secret }))), { error: 'invalid_client', status: 401 }, 'the old one does not');
  t.match(await oauthFailure(client.clientCredentialsGrant(await discover(auth, { id: doomed.client_id, secret: doomed.client_secret }))), { error: 'invalid_client' }, 'a deleted client is gone');
});

test('client registration rules', async (t) => {
  const ok = { name: 'x', public: false, redirectUris: [] as string[], scopes: [] as string[], firstParty: false, introspect: false };
  const refused: Array<[Partial<ClientSpec> & { grants: string[] }, RegExp]> = [
    [{ grants: [] }, /at least one --grant/],
    [{ grants: ['implicit'] }, /unknown grant "implicit"/],
    [{ grants: ['client_credentials'], public: true }, /client_credentials needs a confidential client/],
    [{ grants: ['password'] }, /^the password grant is for first-party clients only \(add --first-party\)$/],
    [{ grants: ['password'], firstParty: true }, /password grant is for first-party public clients only/],
    [{ grants: ['authorization_code'], redirectUris: ['https://app.example/cb'], introspect: true, public: true }, /--introspect needs a confidential client/],
    [{ grants: ['client_credentials'], scopes: ['admin'] }, /^the scope "admin" is for first-party clients only \(add --first-party\)$/],
    [{ grants: ['client_credentials'], scopes: ['orders:read', 'account'] }, /^the scope "account" is for first-party clients only/],
    [{ grants: ['client_credentials'], scopes: ['orders:delete'] }, /^unknown scope "orders:delete" \(use account, admin, orders:read/],
    [{ grants: ['authorization_code'] }, /needs at least one --redirect-uri/],
    [{ grants: ['authorization_code'], redirectUris: ['https://a.example/cb'], postLogoutRedirectUris: ['http://evil.example/bye'] }, /must use https/],
    [{ grants: ['client_credentials'], redirectUris: ['https://a.example/cb'] }, /only used by the authorization_code grant/],
    [{ grants: ['authorization_code'], redirectUris: ['http://app.example/cb'] }, /must use https/],
    [{ grants: ['authorization_code'], redirectUris: ['https://app.example/cb#x'] }, /must not have a fragment/],
    [{ grants: ['authorization_code'], redirectUris: ['/relative'] }, /not an absolute URL/],
    [{ grants: ['authorization_code'], redirectUris: ['javascript:alert(1)'] }, /must use https/],
    [{ grants: ['client_credentials'], scopes: ['a"b'] }, /unknown scope/],
    [{ grants: ['client_credentials'], name: '  ' }, /name must be 1 to 200/],
  ];
  for (const [spec, message] of refused) t.throws(() => validateClientSpec({ ...ok, ...spec }), { name: 'ClientRegistrationError', message }, JSON.stringify(spec));
  t.doesNotThrow(() => validateClientSpec({ ...ok, grants: ['authorization_code', 'refresh_token'], public: true, redirectUris: ['http://127.0.0.1:8000/cb', 'https://app.example/cb?x=1'] }));
  t.doesNotThrow(() => validateClientSpec({ ...ok, grants: ['password', 'refresh_token'], public: true, firstParty: true, scopes: ['account', 'admin'] }));
  t.doesNotThrow(() => validateClientSpec({ ...ok, grants: ['client_credentials'], introspect: true, scopes: ['orders:read', 'openid'] }));
});
