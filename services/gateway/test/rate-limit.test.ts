import t0 from 'tap';
import { send, startRig } from './helpers.js';

t0.test('public routes are limited per IP and authenticated ones per user, with 429, Retry-After and RateLimit-*', async (t) => {
  const rig = await startRig({ RATE_LIMIT_PUBLIC_PER_IP: '3', RATE_LIMIT_USER: '4' });
  t.teardown(() => rig.close());
  for (let i = 0; i < 3; i++) {
    const ok = await send(rig.url, { path: '/auth/login', method: 'POST', body: '{}' });
    t.equal(ok.status, 200);
    t.equal(ok.headers['ratelimit-limit'], '3');
    t.equal(ok.headers['ratelimit-remaining'], String(2 - i));
  }
  const limited = await send(rig.url, { path: '/auth/login', method: 'POST', body: '{}' });
  t.equal(limited.status, 429);
  t.equal(limited.json().error, 'rate_limited');
  t.match(limited.json().error_description, /^Too many requests; retry in/);
  t.ok(Number(limited.headers['retry-after']) > 0);
  t.equal(limited.headers['ratelimit-remaining'], '0');

  // Users are counted by their own key, not by the (exhausted) IP.
  const alice = await rig.mint({ sub: 'alice' });
  const bob = await rig.mint({ sub: 'bob' });
  for (let i = 0; i < 4; i++) t.equal((await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${alice}` } })).status, 200);
  const aliceLimited = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${alice}` } });
  t.equal(aliceLimited.status, 429);
  t.equal(aliceLimited.headers['ratelimit-limit'], '4');
  t.equal((await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${bob}` } })).status, 200, 'bob is not limited by alice');
});
