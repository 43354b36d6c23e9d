/**
 * The revocation kinds across processes: a deleted client's client_credentials token (no
 * session to revoke) and every token of a revoked signing key (`authctl keys revoke`, a
 * compromised key) are refused by both gateways within 1 s of the command, polled every 50 ms;
 * the revoked key leaves every auth instance's JWKS at once and the next login is signed with a
 * new key that both gateways accept. Auth re-reads its keys only every 300 s here, so what is
 * measured is the push, not the periodic re-read.
 */
import { test } from 'tap';
import {
  call,
  describe,
  peek,
  protectedGet,
  registerAndLogin,
  scaleSkipReason,
  login,
  startStack,
  timeUntilRefused,
  waitUntil,
  type Stack,
} from './harness/index.js';

const skip = scaleSkipReason();
const POLL_MS = 50;

/** A client_credentials token from the public entry point (form-encoded, client_secret_basic). */
async function serviceToken(stack: Stack, clientId: string, secret: string): Promise<string> {
  const response = await fetch(`${stack.front}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || typeof body.access_token !== 'string') throw new Error(`client_credentials: ${response.status}`);
  return body.access_token;
}

async function publishedKids(base: string): Promise<string[]> {
  const reply = await call(base, 'GET', '/.well-known/jwks.json');
  return ((reply.body as { keys?: { kid?: string }[] } | undefined)?.keys ?? []).map((key) => key.kid ?? '?');
}

test('client deletion and key revocation reach both gateways within 1 s', { skip }, async (t) => {
  const stack = await startStack(t, { name: 'revocation-kinds', env: { auth: { KEY_REFRESH_SECONDS: '300' } } });
  const gateways = stack.gateways.map((gateway) => gateway.url);

  await t.test("a deleted client's client_credentials token is refused by both gateways within 1 s", async (t) => {
    const created = await stack.authCli(['clients', 'create', '--name', 'billing', '--grant', 'client_credentials', '--scope', 'orders:read', '--json']);
    t.equal(created.code, 0, created.stderr);
    const { client_id: clientId, client_secret: secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    const token = await serviceToken(stack, clientId, secret);
    const other = JSON.parse(
      (await stack.authCli(['clients', 'create', '--name', 'reports', '--grant', 'client_credentials', '--scope', 'orders:read', '--json'])).stdout,
    ) as { client_id: string; client_secret: string };
    const bystander = await serviceToken(stack, other.client_id, other.client_secret);
    t.equal(peek(token).sid, undefined, 'a token without a session: only the client kind can revoke it');
    const before = await Promise.all(gateways.map((base) => protectedGet(base, token)));
    t.same(
      before.map((reply) => reply.status),
      [200, 200],
      `accepted by both gateways before (${before.map(describe).join(' | ')})`,
    );

    const deleted = await stack.authCli(['clients', 'delete', clientId]);
    t.equal(deleted.code, 0, deleted.stderr);
    const refusedAfter = await timeUntilRefused(gateways, token, { timeoutMs: 3_000, pollMs: POLL_MS });
    t.comment(`client deleted → refused by both gateways after ${refusedAfter?.toFixed(1) ?? 'never'} ms (polling every ${POLL_MS} ms)`);
    t.ok(
      refusedAfter !== undefined && refusedAfter <= 1_000,
      `both gateways refused it within 1 s (${refusedAfter?.toFixed(1) ?? 'never'} ms)`,
    );
    const after = await Promise.all([stack.front, ...gateways].map((base) => protectedGet(base, token)));
    t.same(
      after.map((reply) => reply.status),
      [401, 401, 401],
      'and it stays refused everywhere',
    );
    t.same(
      (await Promise.all(gateways.map((base) => protectedGet(base, bystander)))).map((reply) => reply.status),
      [200, 200],
      "another client's token still passes",
    );
  });

  await t.test("a revoked key's tokens are refused by both gateways within 1 s; its replacement signs and verifies at once", async (t) => {
    const user = await registerAndLogin(stack.front, 'keyrevoke');
    const oldKid = peek(user.accessToken).kid!;
    const before = await Promise.all(gateways.map((base) => protectedGet(base, user.accessToken)));
    t.same(
      before.map((reply) => reply.status),
      [200, 200],
      'verified (and cached) by both gateways before',
    );

    const revoked = await stack.authCli(['keys', 'revoke', oldKid]);
    t.equal(revoked.code, 0, revoked.stderr);
    t.comment(revoked.stdout.trim().replace(/\n/g, ' | '));
    const refusedAfter = await timeUntilRefused(gateways, user.accessToken, { timeoutMs: 3_000, pollMs: POLL_MS });
    t.comment(`key revoked → refused by both gateways after ${refusedAfter?.toFixed(1) ?? 'never'} ms (polling every ${POLL_MS} ms)`);
    t.ok(
      refusedAfter !== undefined && refusedAfter <= 1_000,
      `both gateways refused it within 1 s (${refusedAfter?.toFixed(1) ?? 'never'} ms)`,
    );
    const refusal = await protectedGet(stack.gateways[1].url, user.accessToken);
    t.match(refusal.body, { error: 'invalid_token', error_description: 'The token was signed with a revoked key.' });

    const gone = await waitUntil(
      async () => (await Promise.all(stack.auth.map((auth) => publishedKids(auth.url)))).every((kids) => !kids.includes(oldKid)),
      {
        timeoutMs: 3_000,
        intervalMs: POLL_MS,
      },
    );
    t.ok(
      gone !== undefined && gone <= 1_000,
      `both auth instances dropped it from the JWKS within 1 s (${gone ?? 'never'} ms after the checks above)`,
    );
    const next = await login(stack.front, user.credentials);
    const newKid = peek(next.accessToken).kid;
    t.ok(newKid !== undefined && newKid !== oldKid, 'the next login is signed with a new key');
    const accepted = await waitUntil(
      async () => (await Promise.all(gateways.map((base) => protectedGet(base, next.accessToken)))).every((reply) => reply.status === 200),
      {
        timeoutMs: 3_000,
        intervalMs: POLL_MS,
      },
    );
    t.ok(accepted !== undefined && accepted <= 1_000, `both gateways accept the new key's token (${accepted ?? 'never'} ms)`);
    t.same(
      (await Promise.all(stack.gateways.map((gateway) => protectedGet(gateway.url, user.accessToken)))).map((reply) => reply.status),
      [401, 401],
      "the old key's token stays refused",
    );
  });

  t.same(stack.unexpectedExits(), [], 'no instance exited without being told to');
});
