/**
 * authctl users|sessions|keys schedule|config: the built CLI (dist/cli.js) as a child process
 * against a fresh database. The app runs only between CLI phases, never at the same time, because
 * embedded PGlite (under DATA_DIR) allows one process. Without DATABASE_URL every authctl process
 * boots its own PGlite (seconds each), so only the steps that need no session data run there.
 * Revocations are checked three ways: the session rows (sessions list), the service (the refresh
 * token stops working) and, with REDIS_URL, the message every gateway receives on the bus.
 */
import { test } from 'tap';
import { createBus } from '@keygate/bus';
import { createTestEnvironment } from '@keygate/testing';
import { build } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { authctl, http, login, refresh, waitFor, type CliResult } from '../helpers.js';

const PASSWORD = 'operator password';

interface SessionView {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
  state: string;
}

interface UserView {
  id: string;
  email: string;
  role: string;
  disabled: boolean;
}

function json<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

test('authctl users, sessions, keys schedule and config', async (t) => {
  const environment = await createTestEnvironment({ JWKS_MAX_AGE: '3' });
  t.teardown(() => environment.cleanup());
  const env = environment.env;
  const cli = (...args: string[]) => authctl(env, ...args);
  const needsPostgres = env.DATABASE_URL
    ? false
    : 'DATABASE_URL unset: each authctl process boots its own PGlite (seconds each), so the steps needing many authctl runs (sessions, revocations, keys) run only against real PostgreSQL';

  /** Runs the app on the test database for `run`, then closes it so the CLI can open the database. */
  async function withApp<T>(run: (base: string) => Promise<T>): Promise<T> {
    const app = await build(loadConfig(env));
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      return await run(`http://127.0.0.1:${(app.server.address() as { port: number }).port}`);
    } finally {
      await app.close();
    }
  }

  await t.test('--help for every command, usage errors before any database work', async (t) => {
    const commands = [
      ['users', 'create'],
      ['users', 'list'],
      ['users', 'disable'],
      ['users', 'enable'],
      ['users', 'set-role'],
      ['sessions', 'list'],
      ['sessions', 'revoke'],
      ['sessions', 'revoke-all'],
      ['keys', 'schedule'],
      ['keys', 'rotate'],
      ['config'],
    ];
    const helps = await Promise.all(commands.map((command) => cli(...command, '--help')));
    helps.forEach((help, i) => {
      t.equal(help.code, 0, `${commands[i]!.join(' ')} --help exits 0`);
      t.match(help.stdout, new RegExp(`^usage: authctl ${commands[i]!.join(' ')}`), `${commands[i]!.join(' ')} --help prints its usage`);
    });
    t.match(helps[9]!.stdout, /--wait/, 'keys rotate documents --wait');

    const failures: [string[], RegExp][] = [
      [['users', 'create', '--email', 'a@example.com'], /^users create needs --email and --password\nusage: authctl users create/],
      [['users', 'create', '--email', 'a@example.com', '--password', PASSWORD, '--role', 'root'], /^role must be admin or user, got "root"\nusage: authctl users create/],
      [['users', 'disable'], /^give exactly one user \(email or id\)\nusage: authctl users disable/],
      [['users', 'set-role', 'a@example.com', 'owner'], /^role must be admin or user, got "owner"/],
      [['users', 'disable', 'not-a-uuid'], /^a user \(email or id\) must be a UUID, got "not-a-uuid"\nusage: authctl users disable/],
      [['sessions', 'list'], /^give exactly one user \(email or id\)\nusage: authctl sessions list/],
      [['sessions', 'revoke', '12345'], /^session_id must be a UUID, got "12345"\nusage: authctl sessions revoke/],
      [['config', 'extra'], /^unexpected argument: extra\nusage: authctl config/],
      [['users'], /^unknown command: users\nusage:\n/],
    ];
    // All fail before opening the database, so they can run side by side even on PGlite.
    const results = await Promise.all(failures.map(([args]) => cli(...args)));
    for (const [i, [args, expected]] of failures.entries()) {
      const result = results[i]!;
      t.equal(result.code, 1, `${args.join(' ')} exits 1`);
      t.match(result.stderr, expected, `${args.join(' ')}: ${expected}`);
      t.equal(result.stdout, '', `${args.join(' ')} prints nothing on stdout`);
    }
  });

  let userId = '';
  await t.test('users create and list', async (t) => {
    const admin = await cli('users', 'create', '--email', 'Ops@Example.com', '--password', PASSWORD, '--role', 'admin');
    t.equal(admin.code, 0, admin.stderr);
    t.match(admin.stdout, /^user created: [0-9a-f-]{36} ops@example\.com \(admin\)\n$/);
    t.notOk(admin.stdout.includes(PASSWORD) || admin.stderr.includes(PASSWORD), 'the password is not echoed');

    const user = await cli('users', 'create', '--email', 'alice@example.com', '--password', PASSWORD, '--json');
    t.equal(user.code, 0, user.stderr);
    const created = json<UserView>(user);
    t.match(created, { email: 'alice@example.com', role: 'user', disabled: false });
    userId = created.id;

    const table = await cli('users', 'list');
    t.equal(table.stdout.split('\n')[0], 'id\temail\trole\tstate\tcreated_at');
    t.match(table.stdout, new RegExp(`${userId}\talice@example.com\tuser\tenabled\t`));
  });

  await t.test('users create refuses a taken email; list filters by role', { skip: needsPostgres }, async (t) => {
    // Real PostgreSQL: several authctl processes at once are fine.
    const roles = ['user', 'admin'];
    const [all, admins, ...taken] = await Promise.all([
      cli('users', 'list', '--json'),
      cli('users', 'list', '--role', 'admin', '--json'),
      ...roles.map((role) => cli('users', 'create', '--email', 'ALICE@example.com', '--password', PASSWORD, '--role', role)),
    ]);
    taken.forEach((result, i) => {
      t.equal(result.code, 1, `a taken email fails (--role ${roles[i]})`);
      t.equal(result.stderr, 'an account with email alice@example.com already exists: nothing changed\n');
    });
    t.same(json<UserView[]>(all!).map((u) => [u.email, u.role, u.disabled]), [['ops@example.com', 'admin', false], ['alice@example.com', 'user', false]]);
    t.same(json<UserView[]>(admins!).map((u) => u.email), ['ops@example.com']);
  });

  // Three logins of alice, one with its own user agent: three live sessions.
  const loginAll = () => withApp(async (base) => {
    const first = await http(base, 'POST', '/auth/login', { json: { email: 'alice@example.com', password: PASSWORD }, headers: { 'user-agent': 'laptop-browser' } });
    t.equal(first.status, 200, first.text);
    return [await login(base, 'alice@example.com', PASSWORD), await login(base, 'alice@example.com', PASSWORD)];
  });

  // With Redis, listen as a gateway would: the CLI must publish every revocation there.
  const messages: { type: string; id: string; until: number }[] = [];
  const bus = env.REDIS_URL ? createBus({ redisUrl: env.REDIS_URL, keyPrefix: env.REDIS_PREFIX! }) : undefined;
  if (bus) {
    t.teardown(() => bus.close());
    await bus.subscribe('revocations', (message) => messages.push(JSON.parse(message) as (typeof messages)[number]));
  }
  const busSkip = bus ? false : 'REDIS_URL unset: the memory bus of a CLI process reaches no other process, so there is nothing to observe';

  await t.test('sessions list, revoke and users disable revoke sessions and publish on the bus', { skip: needsPostgres }, async (t) => {
    const logins = await loginAll();
    const [listed, text, unknown] = await Promise.all([cli('sessions', 'list', 'alice@example.com', '--json'), cli('sessions', 'list', userId), cli('sessions', 'list', 'nobody@example.com')]);
    t.equal(listed.code, 0, listed.stderr);
    const sessions = json<SessionView[]>(listed);
    t.equal(sessions.length, 3);
    t.ok(sessions.every((s) => s.state === 'live' && s.ip === '127.0.0.1'), 'three live sessions from 127.0.0.1');
    t.ok(sessions.some((s) => s.user_agent === 'laptop-browser'), 'the user agent is shown');
    t.equal(text.stdout.split('\n')[0], 'id\tcreated_at\tlast_used_at\tip\tuser_agent\tstate', 'a user can be named by id');
    t.equal(unknown.code, 1);
    t.equal(unknown.stderr, 'no user nobody@example.com\n');

    const target = sessions[0]!.id;
    const revoked = await cli('sessions', 'revoke', target);
    t.equal(revoked.code, 0, revoked.stderr);
    t.equal(revoked.stdout, `session ${target} of alice@example.com is revoked\n`);
    if (!env.REDIS_URL) t.match(revoked.stderr, /REDIS_URL is not set, so authctl told no running gateway/, 'embedded mode says gateways are not told');
    const [again, missing] = await Promise.all([cli('sessions', 'revoke', target), cli('sessions', 'revoke', '00000000-0000-4000-8000-000000000000')]);
    t.equal(again.stdout, `session ${target} was already revoked: nothing changed\n`);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /^no session 00000000-0000-4000-8000-000000000000\n/);

    const disabled = await cli('users', 'disable', 'alice@example.com');
    t.equal(disabled.code, 0, disabled.stderr);
    t.equal(disabled.stdout, `user alice@example.com (${userId}) is disabled; all their sessions are revoked\n`);
    const after = json<SessionView[]>(await cli('sessions', 'list', 'alice@example.com', '--json'));
    t.same(
      after.map((s) => [s.id, s.state]).sort(),
      sessions.map((s) => [s.id, s.id === target ? 'revoked (session_delete)' : 'revoked (user_disabled)']).sort(),
      'one session revoked by id, the others by the disable',
    );
    t.same(json<UserView[]>(await cli('users', 'list', '--disabled', '--json')).map((u) => u.email), ['alice@example.com']);

    await t.test('every revocation reached the bus', { skip: busSkip }, async (t) => {
      t.ok(await waitFor(() => messages.length >= 3), 'three messages arrived');
      t.same(messages.map((m) => m.id).sort(), sessions.map((s) => s.id).sort(), 'one per session, each once');
      t.ok(messages.every((m) => m.type === 'session' && m.until > Date.now()), 'agreed wire format with a future "until"');
      const expiring = (await bus!.listExpiring('revoked')).map((m) => m.member);
      t.ok(sessions.every((s) => expiring.includes(`session:${s.id}`)), 'and in the expiring set for gateways that missed it');
    });

    await withApp(async (base) => {
      for (const session of logins) t.equal((await refresh(base, session.refreshToken)).status, 401, 'a revoked session cannot refresh');
      t.equal((await http(base, 'POST', '/auth/login', { json: { email: 'alice@example.com', password: PASSWORD } })).status, 401, 'a disabled user cannot log in');
    });
  });

  await t.test('users enable, set-role and sessions revoke-all', { skip: needsPostgres }, async (t) => {
    const enabled = await cli('users', 'enable', userId);
    t.equal(enabled.stdout, `user alice@example.com (${userId}) is enabled\n`);
    const relogin = await withApp((base) => login(base, 'alice@example.com', PASSWORD));
    t.ok(relogin.refreshToken, 'an enabled user logs in again');

    const before = messages.length;
    const promoted = await cli('users', 'set-role', 'alice@example.com', 'admin');
    t.equal(promoted.code, 0, promoted.stderr);
    t.equal(promoted.stdout, `user alice@example.com (${userId}) has role admin; all their sessions are revoked\n`);
    const same = await cli('users', 'set-role', 'alice@example.com', 'admin');
    t.equal(same.stdout, `user alice@example.com (${userId}) has role admin\n`, 'no change, nothing revoked');
    const states = json<SessionView[]>(await cli('sessions', 'list', 'alice@example.com', '--json')).map((s) => s.state);
    t.equal(states.filter((s) => s === 'revoked (role_change)').length, 1, 'the new session was revoked by the role change');
    t.equal(states.filter((s) => s === 'live').length, 0);
    if (bus) t.ok(await waitFor(() => messages.length === before + 1), 'the role change published its revocation');

    const [third, fourth] = await withApp(async (base) => [await login(base, 'alice@example.com', PASSWORD), await login(base, 'alice@example.com', PASSWORD)]);
    const all = await cli('sessions', 'revoke-all', 'alice@example.com');
    t.equal(all.code, 0, all.stderr);
    t.equal(all.stdout, 'revoked 2 sessions of alice@example.com\n');
    t.equal((await cli('sessions', 'revoke-all', 'alice@example.com')).stdout, 'revoked 0 sessions of alice@example.com\n');
    await withApp(async (base) => {
      t.equal((await refresh(base, third!.refreshToken)).status, 401);
      t.equal((await refresh(base, fourth!.refreshToken)).status, 401);
    });
  });

  await t.test('keys rotate prints the schedule; --wait shows progress until the key signs', { skip: needsPostgres }, async (t) => {
    const schedule = await cli('keys', 'schedule', '--json');
    t.equal(schedule.code, 0, schedule.stderr);
    const before = json<{ kid: string; state: string; signs_until: string | null; leaves_jwks_at: string | null }[]>(schedule);
    t.equal(before.length, 1, 'the app created one key');
    t.match(before[0], { state: 'current', signs_until: null, leaves_jwks_at: null });

    const rotated = await cli('keys', 'rotate', '--wait');
    t.equal(rotated.code, 0, rotated.stderr);
    const lines = rotated.stdout.split('\n');
    const kid = /^new key (\S+) \(RS256\) is next; it signs from /.exec(lines[0]!)?.[1];
    t.ok(kid, 'the first line names the new key');
    t.equal(lines[2], 'kid\talg\tstate\tpublished_at\tsigns_from\tsigns_until\tleaves_jwks_at', 'then the schedule');
    t.match(lines[3], new RegExp(`^${before[0]!.kid}\tRS256\tcurrent\t\\S+Z\t\\S+Z\t\\S+Z( \\(in \\d+ s\\))?\t\\S+Z \\(in \\d+ s\\)$`), 'the current key: when it stops signing and leaves the JWKS');
    t.match(lines[4], new RegExp(`^${kid}\tRS256\tnext\t`));
    t.match(rotated.stdout, new RegExp(`waiting for key ${kid} to become current: \\d+ s left\n`), 'a progress line');
    t.match(rotated.stdout, new RegExp(`key ${kid} is current: it signs new tokens now`));

    const after = json<{ kid: string; state: string; leaves_jwks_at: string | null }[]>(await cli('keys', 'schedule', '--json'));
    t.same(after.map((k) => [k.kid, k.state]), [[before[0]!.kid, 'previous'], [kid, 'current']]);
    t.ok(Date.parse(after[0]!.leaves_jwks_at!) > Date.now(), 'the previous key stays in the JWKS for a while');
  });

  await t.test('config prints the effective settings with secrets masked', async (t) => {
    const databaseUrl = 'postgres://keygate:db-password-42@db.internal:5432/keygate';
    const [shown, text, generated] = await Promise.all([
      authctl({ ...env, DATABASE_URL: databaseUrl, ACCESS_TOKEN_TTL: '600' }, 'config', '--json'),
      authctl({ ...env, DATABASE_URL: databaseUrl }, 'config'),
      authctl({ ...env, KEY_ENCRYPTION_KEY: '', GATEWAY_SECRET: '' }, 'config', '--json'),
    ]);
    t.equal(shown.code, 0, shown.stderr);
    const settings = json<Record<string, { value: string; source: string }>>(shown);
    for (const secret of ['KEY_ENCRYPTION_KEY', 'GATEWAY_SECRET', 'DATABASE_URL']) t.same(settings[secret], { value: '********', source: 'env' }, `${secret} masked`);
    for (const value of [env.KEY_ENCRYPTION_KEY!, env.GATEWAY_SECRET!, 'db-password-42', 'db.internal']) t.notOk(shown.stdout.includes(value), 'no secret in the output');
    t.same(settings.ACCESS_TOKEN_TTL, { value: '600', source: 'env' });
    t.same(settings.REFRESH_GRACE, { value: '10', source: 'default' });
    t.equal(settings.ADMIN_PASSWORD?.source, 'unset');

    t.match(text.stdout, /^KEY_ENCRYPTION_KEY +\*{8}$/m);
    t.match(text.stdout, /^DATABASE_URL +\*{8}$/m);
    t.match(text.stdout, /^REFRESH_GRACE +10 +\(default\)$/m);
    t.notOk(text.stdout.includes(env.KEY_ENCRYPTION_KEY!) || text.stdout.includes('db-password-42'));

    t.equal(generated.code, 0, generated.stderr);
    t.same(json<Record<string, { value: string; source: string }>>(generated).KEY_ENCRYPTION_KEY, { value: '********', source: 'generated' }, 'an embedded dev secret is masked too');
  });
});
