import t0 from 'tap';
import { makeKey, send, startRig } from './helpers.js';

t0.test('with the auth service stopped, cached keys keep verifying; a rotated kid is picked up without a restart', async (t) => {
  const rig = await startRig({ JWKS_REFETCH_COOLDOWN_MS: '200' });
  t.teardown(() => rig.close());
  const before = await rig.mint({ sub: 'before' });
  t.equal((await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${before}` } })).status, 200);

  // Rotation: the auth service publishes key-2 beside key-1, then signs with it.
  const next = await makeKey('key-2');
  rig.jwks = { keys: [rig.keys[0]!.jwk, next.jwk] };
  await new Promise((resolve) => setTimeout(resolve, 250));
  const rotated = await rig.mint({ sub: 'rotated' }, {}, next);
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${rotated}` } });
  t.equal(res.status, 200, 'the new kid was fetched on first sight');
  t.equal(res.json<{ user: { id: string } }>().user.id, 'rotated');

  // The auth service goes down: both keys keep working, for new tokens too.
  await rig.auth.close();
  await new Promise((resolve) => setTimeout(resolve, 250));
  for (const [key, sub] of [[rig.keys[0]!, 'old-key'], [next, 'new-key']] as const) {
    const token = await rig.mint({ sub }, {}, key);
    const ok = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
    t.equal(ok.status, 200, `${sub} still verifies`);
  }
  // An unknown kid now triggers a refetch that fails: still a clean 401, not a 5xx.
  const stranger = await makeKey('key-3');
  const refused = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${await rig.mint({}, {}, stranger)}` } });
  t.equal(refused.status, 401);
  t.equal(refused.json().error, 'invalid_token');
  // Readiness stays green: the JWKS was loaded once.
  const ready = await send(rig.url, { path: '/readyz' });
  t.equal(ready.status, 200);
  // The public auth routes, whose upstream is down, answer 502.
  const down = await send(rig.url, { path: '/auth/me' });
  t.equal(down.status, 502);
  t.same(down.json(), { error: 'bad_gateway', error_description: 'The upstream service is unavailable.' });
});

t0.test('an upstream that does not answer in time gets 504; one that is down gets 502', async (t) => {
  const rig = await startRig({ UPSTREAM_TIMEOUT_MS: '300' });
  t.teardown(() => rig.close());
  const token = await rig.mint();
  rig.orders.delayMs = 1_000;
  const slow = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${token}` } });
  t.equal(slow.status, 504);
  t.same(slow.json(), { error: 'gateway_timeout', error_description: 'The upstream service did not answer in time.' });
  rig.orders.delayMs = 0;
  await rig.notifications.close();
  const down = await send(rig.url, { path: '/notifications', headers: { Authorization: `Bearer ${token}` } });
  t.equal(down.status, 502);
  t.same(down.json(), { error: 'bad_gateway', error_description: 'The upstream service is unavailable.' });
  t.equal(down.headers['x-content-type-options'], 'nosniff');
});

t0.test('before the JWKS was ever loaded, tokens get 503 and readiness is red', async (t) => {
  const rig = await startRig({ JWKS_URL: 'http://127.0.0.1:1/jwks.json', JWKS_REFETCH_COOLDOWN_MS: '0' });
  t.teardown(() => rig.close());
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${await rig.mint()}` } });
  t.equal(res.status, 503);
  t.equal(res.json().error, 'service_unavailable');
  t.ok(res.headers['retry-after']);
  const ready = await send(rig.url, { path: '/readyz' });
  t.equal(ready.status, 503);
  t.equal(ready.json<{ checks: Record<string, string> }>().checks.jwks, 'unavailable');
});

t0.test('HSTS is sent when the issuer is https', async (t) => {
  const rig = await startRig({ ISSUER: 'https://id.example.com' });
  t.teardown(() => rig.close());
  const res = await send(rig.url, { path: '/orders', headers: { Authorization: `Bearer ${await rig.mint()}` } });
  t.equal(res.status, 200);
  t.match(res.headers['strict-transport-security'], /max-age=31536000/);
});

t0.test('client addresses come from X-Forwarded-For only when the peer is a trusted proxy', async (t) => {
  /** The forwarding headers auth hears when a client behind 203.0.113.7 (https) calls a gateway trusting `trustProxy`. */
  const forwardedBy = async (trustProxy: string) => {
    const rig = await startRig({ TRUST_PROXY: trustProxy });
    t.teardown(() => rig.close());
    const res = await send(rig.url, { path: '/auth/login', headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https' } });
    return res.json<{ headers: Record<string, string> }>().headers;
  };
  const echo = await forwardedBy('127.0.0.1');
  t.equal(echo['x-forwarded-for'], '203.0.113.7');
  t.equal(echo['x-real-ip'], '203.0.113.7');
  t.equal(echo['x-forwarded-proto'], 'https');

  const spoofed = await forwardedBy('10.0.0.0/8');
  t.equal(spoofed['x-forwarded-for'], '127.0.0.1');
  t.equal(spoofed['x-forwarded-proto'], 'http');
});
