import { test } from 'tap';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createTestEnvironment } from '@keygate/testing';
import { PASSWORD, bearer, http, refresh, refreshCookieValue, uniqueEmail } from './helpers.js';

const MAIN = resolve(import.meta.dirname, '../dist/main.js');

test('the real process: no token, password or cookie in any log line, even at trace level', async (t) => {
  const environment = await createTestEnvironment({ LOG_LEVEL: 'trace', AUTH_PORT: '0' });
  t.teardown(() => environment.cleanup());
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...environment.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const base = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`no listening line:\n${out}`)), 30_000);
    const check = () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      } else setTimeout(check, 50);
    };
    check();
  });

  const email = uniqueEmail('logs');
  t.equal((await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } })).status, 201);
  const wrong = 'a wrong password value';
  t.equal((await http(base, 'POST', '/auth/login', { json: { email, password: wrong } })).status, 401);
  const loggedIn = await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD } });
  const access = (loggedIn.body as { access_token: string }).access_token;
  const first = refreshCookieValue(loggedIn.cookies)!;
  const refreshed = await refresh(base, first);
  const second = refreshCookieValue(refreshed.cookies)!;
  t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(access) })).status, 200);
  t.equal((await http(base, 'GET', `/auth/me?access_token=${access}`)).status, 400);
  t.equal((await http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: 'the next password' }, headers: bearer(access) })).status, 204);
  t.equal((await http(base, 'POST', '/auth/logout', { headers: { cookie: `refresh_token=${second}` } })).status, 204);
  for (const response of [loggedIn, refreshed]) t.equal(response.headers.get('location'), null, 'no redirect carries a token');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'drains and exits 0 on SIGTERM');
  const lines = out.split('\n').filter((line) => line.trim() !== '');
  t.ok(lines.length > 10, `${lines.length} log lines`);
  for (const line of lines) t.doesNotThrow(() => JSON.parse(line), 'JSON log line');
  const access3 = access.split('.');
  for (const [secret, what] of [
    [access3[1]!, 'access token payload'],
    [access3[2]!, 'access token signature'],
    [first, 'first refresh token'],
    [second, 'second refresh token'],
    [PASSWORD, 'password'],
    [wrong, 'wrong password'],
    ['the next password', 'new password'],
  ] as const) {
    t.notOk(out.includes(secret), `no ${what} in the logs`);
  }
  t.ok(out.includes('"url":"/auth/me"'), 'the query string is not logged');
});
