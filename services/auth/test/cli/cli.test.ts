import { test } from 'tap';
import { createTestEnvironment } from '@keygate/testing';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { authctl, bearer, http } from '../helpers.js';

test('authctl admin create, keys rotate and keys list against the service database', async (t) => {
  // Runs before the app starts: embedded PGlite (under DATA_DIR) allows one process at a time.
  const environment = await createTestEnvironment({ JWKS_MAX_AGE: '60' });
  t.teardown(() => environment.cleanup());
  const env = environment.env;

  const created = await authctl(env, 'admin', 'create', '--email', 'Ops@Example.com', '--password', 'operator password');
  t.equal(created.code, 0, created.stderr);
  t.equal(created.stdout.trim(), 'admin created');
  t.notOk(created.stdout.includes('operator password') || created.stderr.includes('operator password'), 'the password is not echoed');
  t.equal((await authctl(env, 'admin', 'create', '--email', 'ops@example.com')).code, 1, 'a missing --password is a usage error');
  t.match((await authctl(env, 'admin', 'create', '--email', 'ops@example.com', '--password', 'short')).stderr, /--password must be 8 to 256 characters/);
  t.match((await authctl(env, 'admin', 'create', '--email', 'x@y.z', '--password', 'long enough', '--bogus')).stderr, /Unknown option '--bogus'/);

  const first = await authctl(env, 'keys', 'rotate');
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^new key \S+ \(RS256\) is current; it signs from /, 'on an empty database the first key is current at once');
  const second = await authctl(env, 'keys', 'rotate');
  t.match(second.stdout, /^new key \S+ \(RS256\) is next; it signs from /);
  const pending = await authctl(env, 'keys', 'rotate');
  t.equal(pending.code, 1);
  t.match(pending.stderr, /^A rotation is already pending: key \S+ becomes current at /);
  const listed = await authctl(env, 'keys', 'list');
  t.equal(listed.code, 0);
  const rows = listed.stdout.trim().split('\n');
  t.equal(rows[0], 'kid\talg\tstate\tcreated_at\tactivates_at\tretires_at');
  t.match(rows.slice(1).map((row) => row.split('\t')[2]), ['current', 'next']);
  t.notOk(/"d"|private/i.test(listed.stdout), 'no key material printed');
  const bad = await authctl({ ...env, REFRESH_GRACE: '99' }, 'keys', 'list');
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^Invalid setting REFRESH_GRACE: /);

  const app = await build(loadConfig(env));
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const login = await http(base, 'POST', '/auth/login', { json: { email: 'ops@example.com', password: 'operator password' } });
  t.equal(login.status, 200);
  const token = (login.body as { access_token: string }).access_token;
  t.equal((await http(base, 'GET', '/admin/users', { headers: bearer(token) })).status, 200, 'the CLI-made admin is an admin');
  const jwks = (await http(base, 'GET', '/.well-known/jwks.json')).body as { keys: unknown[] };
  t.equal(jwks.keys.length, 2, 'the app publishes the current and the next key made by the CLI');
});
