/**
 * authctl users reset-mfa and users delete: the built CLI against a fresh database, the app running
 * only between CLI phases (embedded PGlite allows one process at a time).
 */
import { test } from 'tap';
import { Secret, TOTP } from 'otpauth';
import { createTestEnvironment } from '@keygate/testing';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { authctl, bearer, http } from '../helpers.js';

const PASSWORD = 'a user password';

test('authctl users reset-mfa and users delete', async (t) => {
  const environment = await createTestEnvironment({});
  t.teardown(() => environment.cleanup());
  const env = environment.env;

  async function withApp<T>(run: (base: string, app: Awaited<ReturnType<typeof build>>) => Promise<T>): Promise<T> {
    const app = await build(loadConfig(env));
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      return await run(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`, app);
    } finally {
      await app.close();
    }
  }

  const helps = await Promise.all([authctl(env, 'users', 'reset-mfa', '--help'), authctl(env, 'users', 'delete', '--help')]);
  t.match(helps[0]!.stdout, /^usage: authctl users reset-mfa <email\|id>/);
  t.match(helps[1]!.stdout, /^usage: authctl users delete <email\|id>/);
  t.match((await authctl(env, 'users', 'delete')).stderr, /^give exactly one user \(email or id\)\nusage: authctl users delete/);

  const userId = await withApp(async (base) => {
    const registered = await http(base, 'POST', '/auth/register', { json: { email: 'lost-phone@example.com', password: PASSWORD } });
    const login = await http(base, 'POST', '/auth/login', { json: { email: 'lost-phone@example.com', password: PASSWORD } });
    const access = (login.body as { access_token: string }).access_token;
    const started = await http(base, 'POST', '/auth/mfa/totp', { headers: bearer(access) });
    const secret = (started.body as { secret: string }).secret;
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    t.equal((await http(base, 'POST', '/auth/mfa/totp/confirm', { headers: bearer(access), json: { code } })).status, 200);
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: 'lost-phone@example.com', password: PASSWORD } })).status, 401, 'a code is required now');
    return (registered.body as { id: string }).id;
  });

  const reset = await authctl(env, 'users', 'reset-mfa', 'Lost-Phone@example.com');
  t.equal(reset.code, 0, reset.stderr);
  t.equal(reset.stdout.trim(), `second factor of lost-phone@example.com (${userId}) removed; they sign in with their password and may enrol again`);
  const none = await authctl(env, 'users', 'reset-mfa', userId);
  t.equal(none.code, 1);
  t.match(none.stderr, /has no second factor: nothing changed/);

  await withApp(async (base, app) => {
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: 'lost-phone@example.com', password: PASSWORD } })).status, 200, 'the password alone signs in again');
    const rows = await app.authContext.db.selectFrom('auth.audit_events').select(['event', 'details', 'user_agent']).where('user_id', '=', userId).where('event', '=', 'mfa_removed').execute();
    t.same(rows, [{ event: 'mfa_removed', details: { by: 'authctl' }, user_agent: 'authctl' }], 'an audit row for support’s reset');
  });

  const deleted = await authctl(env, 'users', 'delete', 'lost-phone@example.com');
  t.equal(deleted.code, 0, deleted.stderr);
  t.equal(deleted.stdout.trim(), `account lost-phone@example.com (${userId}) deleted; all its sessions are revoked`);
  t.match((await authctl(env, 'users', 'delete', 'lost-phone@example.com')).stderr, /^no user lost-phone@example.com/);

  await withApp(async (base, app) => {
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: 'lost-phone@example.com', password: PASSWORD } })).status, 401, 'the account is gone');
    const last = await app.authContext.db.selectFrom('auth.audit_events').select(['event', 'details']).where('user_id', '=', userId).orderBy('id', 'desc').executeTakeFirstOrThrow();
    t.same(last, { event: 'account_deleted', details: { by: 'authctl', revoked_sessions: 2 } });
  });
});
