// The gateway's metrics (token rejection reasons, revocation lag, memory) are served on its
// operations listener only: the public port answers 404 however /metrics is spelled or sent.
import t0 from 'tap';
import { scrapeMetrics } from '@keygate/testing';
import { send, startRig } from './helpers.js';

t0.test('/metrics: 404 JSON on the public port, Prometheus text with the gateway metrics on the operations listener', async (t) => {
  const rig = await startRig();
  t.teardown(() => rig.close());
  const token = await rig.mint({ sub: 'alice', role: 'admin' });
  const attempts: Array<{ method?: string; path: string; headers?: Record<string, string> }> = [
    { path: '/metrics' },
    { path: '/metrics', headers: { Authorization: `Bearer ${token}` } },
    { path: '/metrics?format=prometheus' },
    { path: '/metrics/' },
    { path: '/%6detrics' },
    { path: '/./metrics' },
    { path: '/orders/../metrics' },
    { method: 'HEAD', path: '/metrics' },
  ];
  for (const attempt of attempts) {
    const res = await send(rig.url, attempt);
    t.equal(res.status, 404, `${attempt.method ?? 'GET'} ${attempt.path}${attempt.headers ? ' with a token' : ''} is 404`);
    if (attempt.method !== 'HEAD') t.equal(res.json().error, 'not_found');
    t.notMatch(res.text, /# HELP|# TYPE/, 'no Prometheus text');
  }
  const forwarded = [...rig.auth.seen, ...rig.orders.seen, ...rig.notifications.seen].filter((echo) => /metrics/i.test(echo.url));
  t.same(forwarded, [], 'nothing was forwarded upstream');

  const text = await scrapeMetrics(rig.gateway);
  t.match(text, /^# HELP /m);
  t.match(text, /gateway_token_rejections_total/, 'the gateway\'s own metrics');
  t.match(text, /gateway_revocation_live\{service="gateway"\} 1/);
  t.match(text, /gateway_jwks_keys\{service="gateway"\} [1-9]/, 'the JWKS keys loaded, read at scrape time');
  t.match(text, /gateway_jwks_fetches\{service="gateway"\} [1-9]/, 'the JWKS fetches');
  t.match(text, /gateway_verified_tokens_cached\{service="gateway"\} \d+\n/, 'the verified-token cache size');
  t.match(text, /http_request_duration_seconds_count\{service="gateway",method="GET",route="\/\*",status_code="404"\} 7\n/, 'the refused requests were counted as the proxy route');
});
