import { test, type Test } from 'tap';
import { FIRST_PARTY_CLIENT_ID } from '../../src/context.js';
import { PASSWORD, bearer, http, registerAndLogin, startAuth, uniqueEmail, type HttpResult } from '../helpers.js';
import { FORM, form } from '../oauth-helpers.js';

const LOGIN_LIMITED = { error: 'rate_limited', error_description: 'Too many login attempts; retry later.' };

function retryAfterOk(t: Test, res: HttpResult): void {
  const retryAfter = Number(res.headers.get('retry-after'));
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers.get('retry-after')}`);
}

/** grant_type=password for the first-party client, with any extra parameters an attacker adds. */
function passwordGrant(base: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(base, 'POST', '/oauth/token', { body: form({ grant_type: 'password', client_id: FIRST_PARTY_CLIENT_ID, ...params }), headers: { ...FORM, ...headers } });
}

test('login rate limits per account and per IP: 429 with Retry-After in the contract format', async (t) => {
  const auth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_ACCOUNT: '3', RATE_LIMIT_LOGIN_PER_IP: '8', TRUST_PROXY: '127.0.0.1' });
  const { base } = auth;

  await t.test('per account: the 4th attempt within a minute is 429, even with the right password; other accounts unaffected', async (t) => {
    const user = await registerAndLogin(base); // 1 login attempt used
    const from = { 'x-forwarded-for': '203.0.113.1' };
    for (let i = 0; i < 2; i += 1) {
      t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: 'wrong password' }, headers: from })).status, 401);
    }
    const limited = await http(base, 'POST', '/auth/login', { json: { email: `  ${user.email.toUpperCase()} `, password: PASSWORD }, headers: { 'x-forwarded-for': '203.0.113.2' } });
    t.equal(limited.status, 429, 'keyed by the normalised email (trimmed, lower case), whatever the address');
    t.same(limited.body, LOGIN_LIMITED);
    retryAfterOk(t, limited);
    t.same(limited.cookies, [], 'no session');
    const other = await registerAndLogin(base, uniqueEmail());
    t.ok(other.accessToken, 'another account still logs in');
  });

  await t.test('per IP: the 9th attempt from one address is 429 whatever the account; another address passes', async (t) => {
    const from = { 'x-forwarded-for': '198.51.100.7' };
    for (let i = 0; i < 8; i += 1) {
      const res = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('spray'), password: 'wrong password' }, headers: from });
      t.equal(res.status, 401, `attempt ${i + 1}`);
    }
    const limited = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('spray'), password: 'wrong password' }, headers: from });
    t.equal(limited.status, 429);
    t.same(limited.body, LOGIN_LIMITED);
    retryAfterOk(t, limited);
    const elsewhere = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('spray'), password: 'wrong password' }, headers: { 'x-forwarded-for': '198.51.100.8' } });
    t.equal(elsewhere.status, 401);
  });

  await t.test('per IP: every address of one IPv6 /64 shares a count; the neighbouring /64 has its own', async (t) => {
    const sameNetwork = ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:abcd', '2001:db8:1:2:1:2:3:4', '2001:db8:1:2::99', '2001:db8:1:2::100', '2001:db8:1:2::101'];
    for (const ip of sameNetwork) {
      const res = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('v6'), password: 'wrong password' }, headers: { 'x-forwarded-for': ip } });
      t.equal(res.status, 401, ip);
    }
    const limited = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('v6'), password: 'wrong password' }, headers: { 'x-forwarded-for': '2001:db8:1:2:dead:beef::1' } });
    t.equal(limited.status, 429, 'a fresh address in the same /64 is still limited');
    const neighbour = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('v6'), password: 'wrong password' }, headers: { 'x-forwarded-for': '2001:db8:1:3::1' } });
    t.equal(neighbour.status, 401, 'the next /64 counts on its own');
  });
});

test('a login resent with its Idempotency-Key counts once; another guess under the same key counts', async (t) => {
  const auth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_ACCOUNT: '3', RATE_LIMIT_LOGIN_PER_IP: '1000' });
  const { base } = auth;
  const attempt = (email: string, password: string, key?: string) =>
    http(base, 'POST', '/auth/login', { json: { email, password }, headers: key === undefined ? {} : { 'idempotency-key': key } });

  await t.test('the same failed attempt resent five times is one count (nginx resends after a gateway died holding it)', async (t) => {
    const user = await registerAndLogin(base); // 1 attempt used
    for (let i = 0; i < 5; i += 1) t.equal((await attempt(user.email, 'wrong password', 'resent-1')).status, 401, `try ${i + 1}: 401, not 429`);
    t.equal((await attempt(user.email, 'wrong password 2', 'other-key')).status, 401, 'the 3rd counted attempt');
    t.equal((await attempt(user.email, PASSWORD, 'third-key')).status, 429, 'the 4th counted attempt is limited');
  });

  await t.test('a client reusing one key for different guesses is counted for each', async (t) => {
    const user = await registerAndLogin(base);
    t.equal((await attempt(user.email, 'guess 1', 'constant-key')).status, 401);
    t.equal((await attempt(user.email, 'guess 2', 'constant-key')).status, 401);
    t.equal((await attempt(user.email, 'guess 3', 'constant-key')).status, 429);
  });

  await t.test('without a key every attempt counts, as before', async (t) => {
    const user = await registerAndLogin(base);
    t.equal((await attempt(user.email, 'wrong password')).status, 401);
    t.equal((await attempt(user.email, 'wrong password')).status, 401);
    t.equal((await attempt(user.email, 'wrong password')).status, 429);
  });

  await t.test('the password grant: a resent attempt counts once', async (t) => {
    const user = await registerAndLogin(base);
    for (let i = 0; i < 4; i += 1) {
      t.equal((await passwordGrant(base, { username: user.email, password: 'wrong password' }, { 'idempotency-key': 'grant-resent' })).status, 400, `try ${i + 1}: invalid_grant, not 429`);
    }
  });
});

test('X-Forwarded-For is ignored unless the peer is in TRUST_PROXY', async (t) => {
  const { base } = await startAuth(t, { RATE_LIMIT_LOGIN_PER_IP: '2' });
  for (let i = 0; i < 2; i += 1) {
    await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail(), password: 'wrong password' }, headers: { 'x-forwarded-for': `192.0.2.${i}` } });
  }
  const res = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail(), password: 'wrong password' }, headers: { 'x-forwarded-for': '192.0.2.99' } });
  t.equal(res.status, 429, 'a spoofed X-Forwarded-For does not reset the per-IP count');
});

test('the password grant counts the username it authenticates, on the same counter as /auth/login', async (t) => {
  // The contract's default per-account limit (10 a minute); the per-IP limit out of the way.
  const auth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_IP: '1000' });
  const { base } = auth;

  await t.test('a decoy email parameter does not move the grant to a fresh counter: 429 before the 14 guesses are through', async (t) => {
    const { email } = await registerAndLogin(base, uniqueEmail('decoy')); // 1 attempt used
    const statuses: number[] = [];
    for (let i = 0; i < 14; i += 1) {
      const res = await passwordGrant(base, { username: email, password: `wrong guess ${i}`, email: uniqueEmail('random') });
      statuses.push(res.status);
    }
    t.same(statuses, [...Array<number>(9).fill(400), ...Array<number>(5).fill(429)], 'nine wrong guesses, then 429');
    const correct = await passwordGrant(base, { username: email, password: PASSWORD, email: uniqueEmail('random') });
    t.equal(correct.status, 429, 'the right password is refused too: the limit is not an oracle');
    t.same(correct.body, LOGIN_LIMITED);
    retryAfterOk(t, correct);
    t.equal(correct.headers.get('cache-control'), 'no-store');
    const viaLogin = await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD } });
    t.equal(viaLogin.status, 429, '/auth/login shares the exhausted counter');
  });

  await t.test('attempts through /auth/login count for the grant (and the username is normalised like an email)', async (t) => {
    const { email } = await registerAndLogin(base, uniqueEmail('shared')); // 1
    for (let i = 0; i < 9; i += 1) t.equal((await http(base, 'POST', '/auth/login', { json: { email, password: 'wrong password' } })).status, 401);
    const grant = await passwordGrant(base, { username: ` ${email.toUpperCase()}`, password: PASSWORD });
    t.equal(grant.status, 429, 'the 11th attempt, whichever door it uses');
  });

  await t.test('the decoy email does not spend the decoy account either', async (t) => {
    const { email: victim } = await registerAndLogin(base, uniqueEmail('victim'));
    const { email: bystander } = await registerAndLogin(base, uniqueEmail('bystander'));
    for (let i = 0; i < 5; i += 1) await passwordGrant(base, { username: victim, password: 'wrong password', email: bystander });
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: bystander, password: PASSWORD } })).status, 200, 'only the username was counted');
  });
});

test('POST /auth/password: a wrong current_password counts against the login limit of the caller\'s account', async (t) => {
  const auth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_IP: '1000' });
  const { base } = auth;

  await t.test('the password oracle: 429 before 40 guesses, and the right password is refused once limited', async (t) => {
    const user = await registerAndLogin(base, uniqueEmail('oracle')); // 1 attempt used
    const statuses: number[] = [];
    let limited: HttpResult | undefined;
    for (let i = 0; i < 40 && limited === undefined; i += 1) {
      const res = await http(base, 'POST', '/auth/password', { json: { current_password: `guess number ${i}`, new_password: 'a brand new password' }, headers: bearer(user.accessToken) });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    t.same(statuses, [...Array<number>(9).fill(403), 429], 'nine wrong guesses within the per-account limit of 10, then 429');
    t.same(limited?.body, LOGIN_LIMITED);
    if (limited) retryAfterOk(t, limited);
    const right = await http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: 'a brand new password' }, headers: bearer(user.accessToken) });
    t.equal(right.status, 429, 'the right current password is not confirmed while limited');
    t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: PASSWORD } })).status, 429, 'and it is the same counter as /auth/login');
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 200, 'the session itself is untouched');
  });

  await t.test('another account is not affected', async (t) => {
    const other = await registerAndLogin(base, uniqueEmail('calm'));
    const res = await http(base, 'POST', '/auth/password', { json: { current_password: PASSWORD, new_password: 'a brand new password' }, headers: bearer(other.accessToken) });
    t.equal(res.status, 204);
  });
});

test('registration is limited per IP (RATE_LIMIT_REGISTER_PER_IP), IPv6 by its /64', async (t) => {
  const auth = await startAuth(t, { RATE_LIMIT_REGISTER_PER_IP: '3', TRUST_PROXY: '127.0.0.1' });
  const { base } = auth;
  const register = (email: string, ip: string) => http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD }, headers: { 'x-forwarded-for': ip } });

  await t.test('the 4th registration from one address within a minute is 429 with Retry-After; no account is created', async (t) => {
    const taken = uniqueEmail('first');
    t.equal((await register(taken, '203.0.113.50')).status, 201);
    t.equal((await register(taken, '203.0.113.50')).status, 409, 'a taken email counts as an attempt too');
    t.equal((await register(uniqueEmail(), '203.0.113.50')).status, 201);
    const email = uniqueEmail('refused');
    const limited = await register(email, '203.0.113.50');
    t.equal(limited.status, 429);
    t.same(limited.body, { error: 'rate_limited', error_description: 'Too many registrations from this address; retry later.' });
    retryAfterOk(t, limited);
    t.equal((await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD } })).status, 401, 'the refused registration created nothing');
    t.equal((await register(uniqueEmail(), '203.0.113.51')).status, 201, 'another address registers');
  });

  await t.test('addresses of one IPv6 /64 share the count', async (t) => {
    for (const ip of ['2001:db8:aa:1::1', '2001:db8:aa:1::2', '2001:db8:aa:1:ffff::3']) t.equal((await register(uniqueEmail('v6'), ip)).status, 201, ip);
    t.equal((await register(uniqueEmail('v6'), '2001:db8:aa:1:1234::4')).status, 429);
    t.equal((await register(uniqueEmail('v6'), '2001:db8:aa:2::1')).status, 201, 'the next /64');
  });

  await t.test('the registration limit is its own counter: logins from a limited address still work', async (t) => {
    const res = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('nobody'), password: 'wrong password' }, headers: { 'x-forwarded-for': '203.0.113.50' } });
    t.equal(res.status, 401);
  });

  await t.test('refusals are counted by limit', async (t) => {
    const metrics = await auth.app.metrics.registry.metrics();
    t.match(metrics, /auth_rate_limited_total\{limit="register_ip",service="auth"\} 2\n/);
  });
});
