import { test } from 'tap';
import { createMemoryBus } from '@keygate/bus';
import { openEmbeddedPglite } from '@keygate/db';
import { createTestEnvironment } from '@keygate/testing';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { build } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { bearer, http, registerAndLogin, startAuth, waitFor } from './helpers.js';

test('injected PGlite and bus are used and never closed by the service', async (t) => {
  const environment = await createTestEnvironment();
  t.teardown(() => environment.cleanup());
  const { DATABASE_URL: _db, REDIS_URL: _redis, ...embeddedEnv } = environment.env;
  const pglite = await openEmbeddedPglite();
  t.teardown(() => pglite.close());
  const bus = createMemoryBus({});
  t.teardown(() => bus.close());
  const received: string[] = [];
  await bus.subscribe('revocations', (message) => received.push(message));

  const app = await build(loadConfig(embeddedEnv), { pglite, bus });
  t.equal(app.authContext.bus, bus, 'the shared bus');
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(JSON.parse(ready.body), { status: 'ready', checks: { database: 'ok' } }, 'Redis is not a readiness dependency');
  await app.inject({ method: 'POST', url: '/auth/register', payload: { email: 'shared@example.com', password: 'long enough pw' } });
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'shared@example.com', password: 'long enough pw' } });
  const token = (JSON.parse(login.body) as { access_token: string }).access_token;
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })).statusCode, 204);
  t.ok(await waitFor(() => received.length === 1), 'the revocation went out on the shared bus');
  await app.close();

  t.notOk(pglite.closed, 'the shared PGlite stays open');
  const rows = await pglite.query<{ n: number }>('select count(*)::int as n from auth.users');
  t.equal(rows.rows[0]!.n, 1, 'and holds the data the service wrote');
  await t.resolves(bus.publish('revocations', 'still open'), 'the shared bus stays open');
});

test('SIGNING_ALG=ES256: the JWKS publishes an EC key and tokens verify by it', async (t) => {
  const { base } = await startAuth(t, { SIGNING_ALG: 'ES256' });
  const jwks = (await http(base, 'GET', '/.well-known/jwks.json')).body as { keys: Record<string, unknown>[] };
  t.same(Object.keys(jwks.keys[0]!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  t.match(jwks.keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  const user = await registerAndLogin(base);
  t.match(JSON.parse(Buffer.from(user.accessToken.split('.')[0]!, 'base64url').toString()), { alg: 'ES256', typ: 'at+jwt' });
  const { payload } = await jwtVerify(user.accessToken, createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)), { algorithms: ['ES256'], typ: 'at+jwt' });
  t.equal(payload.sub, user.userId);
  t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 200);
  const meta = (await http(base, 'GET', '/.well-known/oauth-authorization-server')).body as Record<string, unknown>;
  t.same(meta.access_token_signing_alg_values_supported, ['ES256']);
});
