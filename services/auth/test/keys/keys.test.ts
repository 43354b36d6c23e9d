import { test } from 'tap';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { realDatabaseUrl } from '@keygate/testing';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { rotateSigningKey } from '../../src/keys/rotation.js';
import { bearer, http, login, registerAndLogin, startAuth, waitFor } from '../helpers.js';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The external verifier: jwks-rsa fetches the JWKS, jsonwebtoken checks signature and claims. */
function verifyExternally(base: string, token: string): Promise<jwt.JwtPayload> {
  const client = jwksRsa({ jwksUri: `${base}/.well-known/jwks.json`, cache: false });
  return new Promise((done, fail) => {
    jwt.verify(
      token,
      (header, callback) => {
        client.getSigningKey(header.kid).then((key) => callback(null, key.getPublicKey()), (error: Error) => callback(error));
      },
      { algorithms: ['RS256'], issuer: 'http://localhost:8080', audience: 'api' },
      (error, payload) => (error ? fail(error) : done(payload as jwt.JwtPayload)),
    );
  });
}

test('JWKS, external verification and key rotation', async (t) => {
  const auth = await startAuth(t, { JWKS_MAX_AGE: '120' });
  const { base, ctx } = auth;
  const policy = auth.config;

  await t.test('JWKS: public members only, Cache-Control, strong ETag, 304 on If-None-Match', async (t) => {
    const res = await http(base, 'GET', '/.well-known/jwks.json');
    t.equal(res.status, 200);
    t.equal(res.headers.get('cache-control'), 'public, max-age=120');
    const etag = res.headers.get('etag')!;
    t.match(etag, /^"[A-Za-z0-9_-]{43}"$/, 'strong ETag');
    const keys = (res.body as { keys: Record<string, unknown>[] }).keys;
    t.equal(keys.length, 1);
    t.same(Object.keys(keys[0]!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    t.match(keys[0], { kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    t.ok(Buffer.from(keys[0]!.n as string, 'base64url').length >= 256, 'RSA 2048 or larger');
    const cached = await http(base, 'GET', '/.well-known/jwks.json', { headers: { 'if-none-match': etag } });
    t.equal(cached.status, 304);
    t.equal(cached.text, '');
    t.equal(cached.headers.get('etag'), etag);
    t.equal((await http(base, 'GET', '/.well-known/jwks.json', { headers: { 'if-none-match': `"other", W/${etag}` } })).status, 304, 'weak comparison, lists');
    t.equal((await http(base, 'GET', '/.well-known/jwks.json', { headers: { 'if-none-match': '"other"' } })).status, 200);
  });

  await t.test('OAuth metadata documents list only what exists', async (t) => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await http(base, 'GET', path);
      t.equal(res.status, 200);
      t.match(res.body, {
        issuer: 'http://localhost:8080',
        jwks_uri: 'http://localhost:8080/.well-known/jwks.json',
        response_types_supported: ['code'],
        token_endpoint: 'http://localhost:8080/oauth/token',
        revocation_endpoint: 'http://localhost:8080/oauth/revoke',
        introspection_endpoint: 'http://localhost:8080/oauth/introspect',
        authorization_endpoint: 'http://localhost:8080/oauth/authorize',
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      });
      // What is not built is not advertised (see test/oauth-token.test.ts for each endpoint answering).
      t.match(res.body, { userinfo_endpoint: 'http://localhost:8080/oauth/userinfo', end_session_endpoint: 'http://localhost:8080/oauth/logout' }, 'OpenID Connect endpoints (answering: test/oauth/oidc.test.ts)');
      for (const absent of ['registration_endpoint', 'pushed_authorization_request_endpoint', 'device_authorization_endpoint']) {
        t.notOk(absent in (res.body as Record<string, unknown>), `no ${absent}`);
      }
    }
  });

  await t.test('an external verifier (jwks-rsa + jsonwebtoken, and jose remote JWKS) accepts the token and rejects tampering', async (t) => {
    const user = await registerAndLogin(base);
    const payload = await verifyExternally(base, user.accessToken);
    t.match(payload, { sub: user.userId, role: 'user', client_id: 'keygate-web', iss: 'http://localhost:8080', aud: 'api' });
    const remote = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    const verified = await jwtVerify(user.accessToken, remote, { algorithms: ['RS256'], typ: 'at+jwt', issuer: 'http://localhost:8080', audience: 'api' });
    t.equal(verified.payload.sub, user.userId);

    const [h, p, s] = user.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const tamperedPayload = `${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${s}`;
    await t.rejects(verifyExternally(base, tamperedPayload), { name: 'JsonWebTokenError', message: 'invalid signature' });
    await t.rejects(jwtVerify(tamperedPayload, remote, { algorithms: ['RS256'] }));
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BA' : 'AA'}`;
    await t.rejects(verifyExternally(base, flipped));
    const hs256 = jwt.sign({ ...claims }, 'secret', { algorithm: 'HS256', keyid: (JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string }).kid, noTimestamp: true });
    await t.rejects(verifyExternally(base, hs256), 'an HS256 token with our kid is refused');
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(hs256) })).status, 401, 'and by the service itself');
  });

  await t.test('rotation: next is published before it signs; tokens from before and after verify; previous retires', async (t) => {
    const user = await registerAndLogin(base);
    const before = user.accessToken;
    const oldKid = ctx.keys.signingKey()!.kid;
    const row = await rotateSigningKey(ctx.db, policy);
    t.equal(row.state, 'next');
    t.ok(
      row.activates_at.getTime() - row.created_at.getTime() >= (policy.jwksMaxAge + policy.keyRefreshSeconds) * 1000,
      'activates at least JWKS_MAX_AGE after every instance has re-read the keys (KEY_REFRESH_SECONDS)',
    );
    await ctx.keys.refresh();
    const during = (await http(base, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] };
    t.same(during.keys.map((k) => k.kid).sort(), [oldKid, row.kid].sort(), 'next key published beside the current one');
    t.equal(ctx.keys.signingKey()!.kid, oldKid, 'still signing with the old key');
    await t.rejects(rotateSigningKey(ctx.db, policy), { name: 'RotationPendingError' }, 'one rotation at a time');

    await ctx.keys.refresh();
    t.equal(ctx.keys.signingKey()!.kid, oldKid, 'a refresh before activates_at changes nothing');
    // Time travel: JWKS_MAX_AGE has passed.
    await sql`update auth.signing_keys set activates_at = now() where kid = ${row.kid}`.execute(ctx.db);
    await ctx.keys.refresh();
    t.equal(ctx.keys.signingKey()!.kid, row.kid, 'the next key became current');
    const after = (await login(base, user.email)).accessToken;
    t.equal((JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid, row.kid);
    t.ok(await verifyExternally(base, before), 'a token signed before the rotation verifies');
    t.ok(await verifyExternally(base, after), 'a token signed after the rotation verifies');
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(before) })).status, 200);
    const states = await ctx.db.selectFrom('auth.signing_keys').select(['kid', 'state', 'retires_at', 'deactivated_at']).orderBy('created_at').execute();
    t.match(states, [{ kid: oldKid, state: 'previous' }, { kid: row.kid, state: 'current' }]);
    const keep = states[0]!.retires_at!.getTime() - states[0]!.deactivated_at!.getTime();
    t.equal(keep, (policy.keyRefreshSeconds + policy.accessTokenTtl + 30) * 1000, 'the previous key stays for KEY_REFRESH_SECONDS + ACCESS_TOKEN_TTL + skew');

    // Time travel: the previous key's tokens have all expired.
    await sql`update auth.signing_keys set retires_at = now() - interval '1 second' where kid = ${oldKid}`.execute(ctx.db);
    await ctx.keys.refresh();
    const final = (await http(base, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] };
    t.same(final.keys.map((k) => k.kid), [row.kid], 'retired keys leave the JWKS');
    const audit = await ctx.db.selectFrom('auth.audit_events').select('event').where('event', 'in', ['key_rotation', 'key_activated']).execute();
    t.same(audit.map((a) => a.event).sort(), ['key_activated', 'key_rotation']);
  });

  await t.test('private keys: never in the JWKS, never unencrypted in the database', async (t) => {
    const jwks = (await http(base, 'GET', '/.well-known/jwks.json')).text;
    for (const member of PRIVATE_MEMBERS) t.notOk(new RegExp(`"${member}"`).test(jwks), `no "${member}" in JWKS`);
    const { decryptPrivateKey, deriveKey, openSecret } = await import('@keygate/tokens');
    const rows = await sql<{ dump: string }>`select row_to_json(k)::text as dump from auth.signing_keys k`.execute(ctx.db);
    const keyRows = await ctx.db.selectFrom('auth.signing_keys').selectAll().execute();
    for (const key of keyRows) {
      const opened = await decryptPrivateKey(key.private_key_sealed, auth.config.keyEncryptionKey, key.kid, key.alg);
      t.equal(opened.kid, key.kid, 'the sealed key opens with KEY_ENCRYPTION_KEY');
      t.match(key.private_key_sealed, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      for (const member of PRIVATE_MEMBERS) t.notOk(Object.hasOwn(key.public_jwk, member), `no "${member}" in public_jwk`);
    }
    const dump = rows.rows.map((r) => r.dump).join('\n');
    t.notOk(/"d"\s*:/.test(dump) || /\\"d\\"/.test(dump), 'no private JWK member anywhere in the table');
    // The private members' actual bytes (opened here with the key) appear nowhere in the auth schema.
    const everything = await sql<{ dump: string }>`
      select string_agg(row_to_json(x)::text, E'\n') as dump from (
        select to_jsonb(k) as r from auth.signing_keys k union all select to_jsonb(a) from auth.audit_events a
        union all select to_jsonb(s) from auth.sessions s union all select to_jsonb(u) from auth.users u) x`.execute(ctx.db);
    const haystack = everything.rows[0]!.dump;
    for (const key of keyRows) {
      const jwk = JSON.parse(openSecret(key.private_key_sealed, deriveKey(auth.config.keyEncryptionKey, 'signing-key'), `kid:${key.kid}`).toString()) as Record<string, string>;
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
        t.ok(jwk[member]!.length > 40, `opened ${member}`);
        t.notOk(haystack.includes(jwk[member]!) || haystack.includes(jwk[member]!.slice(0, 40)), `the ${member} bytes are not stored in clear`);
      }
    }
    await t.rejects(decryptPrivateKey(keyRows[0]!.private_key_sealed, Buffer.alloc(32, 7), keyRows[0]!.kid, keyRows[0]!.alg), { code: 'ERR_TOKENS_DECRYPT_FAILED' }, 'a wrong KEY_ENCRYPTION_KEY cannot open it');
  });
});

test('every instance signs with the one current key; a rotation elsewhere is picked up without restart', { skip: realDatabaseUrl ? false : 'needs DATABASE_URL (two instances share one real database)' }, async (t) => {
  const first = await startAuth(t, { JWKS_MAX_AGE: '0', KEY_REFRESH_SECONDS: '1' });
  // Two more instances on the same database started at once: nobody creates a second current key.
  const config = loadConfig({ ...first.env });
  const [b, c] = await Promise.all([build(config), build(config)]);
  t.teardown(() => b.close());
  t.teardown(() => c.close());
  const current = await first.ctx.db.selectFrom('auth.signing_keys').select('kid').where('state', '=', 'current').execute();
  t.equal(current.length, 1);
  t.equal(b.authContext.keys.signingKey()!.kid, current[0]!.kid);
  t.equal(c.authContext.keys.signingKey()!.kid, current[0]!.kid);

  // The CLI rotates (with JWKS_MAX_AGE=0 the new key is due at once); instances follow within a refresh.
  const cli = await run(process.execPath, [CLI, 'keys', 'rotate'], { env: { ...process.env, ...first.env } });
  t.match(cli.stdout, /^new key \S+ \(RS256\) is next; it signs from /);
  const newKid = /^new key (\S+)/.exec(cli.stdout)![1]!;
  const instances = [first.app, b, c];
  t.ok(await waitFor(() => instances.every((app) => app.authContext.keys.signingKey()!.kid === newKid), 10_000), 'every instance picked it up without restart');
  const listed = await run(process.execPath, [CLI, 'keys', 'list'], { env: { ...process.env, ...first.env } });
  t.match(listed.stdout, new RegExp(`${newKid}\\tRS256\\tcurrent`));
  t.match(listed.stdout, /\tRS256\tprevious\t/);
  const usage = await run(process.execPath, [CLI, 'keys', 'explode'], { env: { ...process.env, ...first.env } }).catch((error: { code: number; stderr: string }) => error);
  t.equal((usage as { code: number }).code, 1);
  t.match((usage as { stderr: string }).stderr, /unknown command: keys explode/);
});

test('first start on an empty database: several instances at once create exactly one key (PGlite: sequential)', async (t) => {
  const auth = await startAuth(t);
  const { ensureCurrentKey } = await import('../../src/keys/rotation.js');
  const results = await Promise.all(Array.from({ length: 5 }, () => ensureCurrentKey(auth.ctx.db, auth.config)));
  t.same(results.map((r) => r.created), [false, false, false, false, false]);
  await sql`delete from auth.signing_keys`.execute(auth.ctx.db);
  const racing = await Promise.all(Array.from({ length: 5 }, () => ensureCurrentKey(auth.ctx.db, auth.config)));
  t.equal(racing.filter((r) => r.created).length, 1, 'exactly one created');
  t.equal(new Set(racing.map((r) => r.kid)).size, 1, 'all agree on it');
  const rows = await auth.ctx.db.selectFrom('auth.signing_keys').select('state').execute();
  t.same(rows.map((r) => r.state), ['current']);
});
