import { test } from 'tap';
import { PASSWORD, http, registerAndLogin, startAuth, uniqueEmail } from './helpers.js';

test('login rate limits per account and per IP: 429 with Retry-After in the contract format', async (t) => {
  const auth = await startAuth(t, { RATE_LIMIT_LOGIN_PER_ACCOUNT: '3', RATE_LIMIT_LOGIN_PER_IP: '8', TRUST_PROXY: '127.0.0.1' });
  const { base } = auth;

  await t.test('per account: the 4th attempt within a minute is 429, even with the right password; other accounts unaffected', async (t) => {
    const user = await registerAndLogin(base); // 1 login attempt used
    const from = { 'x-forwarded-for': '203.0.113.1' };
    for (let i = 0; i < 2; i += 1) {
      t.equal((await http(base, 'POST', '/auth/login', { json: { email: user.email, password: 'wrong password' }, headers: from })).status, 401);
    }
    const limited = await http(base, 'POST', '/auth/login', { json: { email: user.email.toUpperCase(), password: PASSWORD }, headers: { 'x-forwarded-for': '203.0.113.2' } });
    t.equal(limited.status, 429, 'keyed by the normalised email, whatever the address');
    t.same(limited.body, { error: 'rate_limited', error_description: 'Too many login attempts; retry later.' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
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
    t.same(limited.body, { error: 'rate_limited', error_description: 'Too many login attempts; retry later.' });
    t.ok(Number(limited.headers.get('retry-after')) >= 1);
    const elsewhere = await http(base, 'POST', '/auth/login', { json: { email: uniqueEmail('spray'), password: 'wrong password' }, headers: { 'x-forwarded-for': '198.51.100.8' } });
    t.equal(elsewhere.status, 401);
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
