// The whole product end to end: the four real services (as `pnpm start` runs them, on real
// PostgreSQL and Redis in CI) driven over real HTTP through the gateway, the way a browser or
// a platform team's client would use it.
import { test } from 'tap';
import type { RunningStack } from '@keygate/stack';
import { useTestStack, waitUntil } from './helpers.js';

interface Session {
  accessToken: string;
  refreshCookie: string;
}

function refreshCookieOf(response: Response): string | undefined {
  const cookies = response.headers.getSetCookie();
  const cookie = cookies.find((c) => c.startsWith('refresh_token='));
  return cookie?.split(';')[0];
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

async function register(stack: RunningStack, email: string, password: string) {
  return fetch(`${stack.gatewayUrl}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
}

async function login(stack: RunningStack, email: string, password: string): Promise<Session> {
  const response = await fetch(`${stack.gatewayUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (response.status !== 200) throw new Error(`login answered ${response.status}: ${await response.text()}`);
  const body = await json(response);
  return { accessToken: body.access_token as string, refreshCookie: refreshCookieOf(response)! };
}

test('a user registers, logs in, orders through the gateway, is notified, refreshes and logs out', async (t) => {
  const { stack } = await useTestStack(t);
  const gw = stack.gatewayUrl;
  const bearer = (s: Session) => ({ authorization: `Bearer ${s.accessToken}` });

  t.equal((await register(stack, 'Alice@Example.com', 'correct horse battery')).status, 201);
  t.equal((await register(stack, 'bob@example.com', 'another long password')).status, 201);
  const alice = await login(stack, 'alice@example.com', 'correct horse battery');
  const bob = await login(stack, 'bob@example.com', 'another long password');
  t.ok(alice.accessToken && alice.refreshCookie, 'access token in the body, refresh token in a cookie');

  const me = await fetch(`${gw}/auth/me`, { headers: bearer(alice) });
  t.equal(me.status, 200);
  const aliceId = (await json(me)).id as string;

  // Spoofed identity headers never reach the service: the order belongs to the token's user.
  const placed = await fetch(`${gw}/orders`, {
    method: 'POST',
    headers: { ...bearer(alice), 'content-type': 'application/json', 'x-user-id': 'someone-else', 'X-User-Role': 'admin' },
    body: JSON.stringify({ item: 'keyboard', quantity: 2 }),
  });
  t.equal(placed.status, 201);
  const order = await json(placed);
  t.equal(order.user_id, aliceId);
  t.equal(order.status, 'placed');

  t.equal((await fetch(`${gw}/orders/${order.id as string}`, { headers: bearer(bob) })).status, 404, "another user's order is not found");
  const bobsOrders = (await (await fetch(`${gw}/orders`, { headers: bearer(bob) })).json()) as unknown[];
  t.same(bobsOrders, [], 'bob sees none of alice’s orders');

  const notifiedAfter = await waitUntil(async () => {
    const list = (await (await fetch(`${gw}/notifications`, { headers: bearer(alice) })).json()) as Array<{ type: string }>;
    return list.some((n) => n.type === 'order_placed');
  }, 2_000);
  t.ok(notifiedAfter !== undefined, `order_placed notification within 2 s (${notifiedAfter} ms)`);

  t.equal((await fetch(`${gw}/orders`)).status, 401, 'no token, no orders');
  t.equal((await fetch(`${gw}/admin/users`, { headers: bearer(alice) })).status, 403, 'a user is not an admin');
  t.equal((await fetch(`${gw}/nowhere`, { headers: bearer(alice) })).status, 404);

  const refreshed = await fetch(`${gw}/auth/refresh`, { method: 'POST', headers: { cookie: alice.refreshCookie, origin: gw } });
  t.equal(refreshed.status, 200);
  const next: Session = { accessToken: (await json(refreshed)).access_token as string, refreshCookie: refreshCookieOf(refreshed)! };
  t.not(next.refreshCookie, alice.refreshCookie, 'rotated');
  t.equal((await fetch(`${gw}/orders`, { headers: bearer(next) })).status, 200);

  const loggedOut = await fetch(`${gw}/auth/logout`, { method: 'POST', headers: { cookie: next.refreshCookie, origin: gw } });
  t.equal(loggedOut.status, 204);
  const refusedAfter = await waitUntil(async () => (await fetch(`${gw}/orders`, { headers: bearer(next) })).status === 401, 1_000, 10);
  t.ok(refusedAfter !== undefined, `the gateway refuses the logged-out session's token within 1 s (${refusedAfter} ms)`);
  t.equal((await fetch(`${gw}/orders`, { headers: bearer(bob) })).status, 200, "other users' sessions are untouched");

  // What operators alert on is counted.
  t.equal((await fetch(`${stack.urls.gateway}/metrics`)).status, 404, 'metrics are not on the public port');
  const gatewayMetrics = await (await fetch(`${stack.metricsUrls.gateway}/metrics`)).text();
  t.match(gatewayMetrics, /gateway_revocation_lag_seconds_count\{service="gateway"\} [1-9]/, 'revocation propagation lag observed');
  t.match(gatewayMetrics, /gateway_token_rejections_total\{reason="revoked",service="gateway"\} [1-9]/, 'revoked-token refusals counted');
  t.match(gatewayMetrics, /gateway_revoked_entries\{service="gateway"\} [1-9]/, 'revocation set size exported');
  t.match(gatewayMetrics, /gateway_jwks_fetches\{service="gateway"\} [1-9]/, 'JWKS fetches exported');
  const authMetrics = await (await fetch(`${stack.metricsUrls.auth}/metrics`)).text();
  t.match(authMetrics, /auth_refreshes_total\{[^}]*outcome="rotated"[^}]*\} 1/, 'refresh rotations counted');
  t.match(authMetrics, /http_request_duration_seconds_bucket\{[^}]*route="\/auth\/login"/, 'latency histogram per route');
});

test('reusing a spent refresh token revokes the session at the gateway', async (t) => {
  const { stack } = await useTestStack(t);
  const gw = stack.gatewayUrl;
  await register(stack, 'carol@example.com', 'a very long password');
  const carol = await login(stack, 'carol@example.com', 'a very long password');
  const first = await fetch(`${gw}/auth/refresh`, { method: 'POST', headers: { cookie: carol.refreshCookie, origin: gw } });
  t.equal(first.status, 200);
  const successor = { accessToken: (await json(first)).access_token as string, refreshCookie: refreshCookieOf(first)! };
  // Use the successor so the grace window closes, then replay the spent token: theft.
  const second = await fetch(`${gw}/auth/refresh`, { method: 'POST', headers: { cookie: successor.refreshCookie, origin: gw } });
  t.equal(second.status, 200);
  const latest = (await json(second)).access_token as string;
  const replay = await fetch(`${gw}/auth/refresh`, { method: 'POST', headers: { cookie: carol.refreshCookie, origin: gw } });
  t.equal(replay.status, 401);
  t.equal((await json(replay)).error, 'invalid_grant');
  const refusedAfter = await waitUntil(async () => (await fetch(`${gw}/orders`, { headers: { authorization: `Bearer ${latest}` } })).status === 401, 1_000, 10);
  t.ok(refusedAfter !== undefined, `the whole session is refused at the gateway within 1 s (${refusedAfter} ms)`);
});

test('the sample services refuse requests that bypass the gateway', async (t) => {
  const { stack } = await useTestStack(t);
  for (const url of [`${stack.urls.orders}/orders`, `${stack.urls.notifications}/notifications`]) {
    const response = await fetch(url, { headers: { 'x-user-id': 'admin', 'x-user-role': 'admin', 'x-request-id': 'forged' } });
    t.equal(response.status, 401, url);
    t.equal((await json(response)).error, 'unauthorized');
  }
  t.equal((await fetch(`${stack.gatewayUrl}/healthz`)).status, 200);
  const jwks = await fetch(`${stack.gatewayUrl}/.well-known/jwks.json`);
  t.equal(jwks.status, 200, 'JWKS through the gateway without a token');
});

test('API docs: every contract endpoint is documented and browsable at /docs through the gateway', async (t) => {
  const { stack } = await useTestStack(t);
  const ui = await fetch(`${stack.gatewayUrl}/docs`);
  t.equal(ui.status, 200);
  t.match(ui.headers.get('content-type') ?? '', /text\/html/);
  const spec = async (name: string) => {
    const response = await fetch(`${stack.gatewayUrl}/docs/specs/${name}.json`);
    t.equal(response.status, 200, `${name} document`);
    return (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  };
  const expected: Record<string, Array<[string, string]>> = {
    auth: [
      ['post', '/auth/register'], ['post', '/auth/login'], ['post', '/auth/refresh'], ['post', '/auth/logout'], ['post', '/auth/logout-all'],
      ['get', '/auth/me'], ['get', '/auth/sessions'], ['delete', '/auth/sessions/{id}'], ['post', '/auth/password'],
      ['post', '/auth/verify-email'], ['post', '/auth/verify-email/resend'], ['post', '/auth/password-reset'], ['post', '/auth/password-reset/confirm'],
      ['get', '/admin/users'], ['patch', '/admin/users/{id}'], ['get', '/.well-known/jwks.json'], ['get', '/.well-known/oauth-authorization-server'],
      ['get', '/auth/consents'], ['delete', '/auth/consents/{client_id}'], ['get', '/oauth/userinfo'], ['post', '/oauth/userinfo'],
      ['get', '/oauth/logout'], ['post', '/oauth/authorize/consent'], ['get', '/.well-known/openid-configuration'],
    ],
    orders: [['post', '/orders'], ['get', '/orders'], ['get', '/orders/{id}']],
    notifications: [['get', '/notifications'], ['post', '/notifications/{id}/read']],
  };
  for (const [name, operations] of Object.entries(expected)) {
    const document = await spec(name);
    t.match(document.openapi, /^3\./);
    for (const [method, path] of operations) {
      const operation = document.paths[path]?.[method] as { responses?: Record<string, unknown> } | undefined;
      t.ok(operation, `${name}: ${method.toUpperCase()} ${path} is documented`);
      const errorStatuses = Object.keys(operation?.responses ?? {}).filter((status) => Number(status) >= 400);
      t.ok(errorStatuses.length > 0 || path.startsWith('/.well-known'), `${name}: ${method.toUpperCase()} ${path} declares its errors (${errorStatuses.join(', ')})`);
    }
  }
  t.equal((await fetch(`${stack.gatewayUrl}/docs/specs/unknown.json`)).status, 404);
});
