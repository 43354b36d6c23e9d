// Deleting a client revokes the client itself (not only its sessions): a `client` revocation on
// the bus, so gateways refuse its client_credentials tokens (which have no session), recorded in
// PostgreSQL in the delete's transaction so it can be re-announced.
import { test } from 'tap';
import { removeClient } from '../../src/oauth/clients.js';
import { http } from '../helpers.js';
import { FORM, basic, form, register, startIssuer } from '../oauth-helpers.js';

test('deleting a client publishes a client revocation and records it', async (t) => {
  const auth = await startIssuer(t);
  const { ctx, config } = auth;
  const service = await register(auth, { name: 'billing', grants: ['client_credentials'] });
  const bystander = await register(auth, { name: 'reports', grants: ['client_credentials'] });
  const token = await http(auth.base, 'POST', '/oauth/token', { headers: { ...FORM, ...basic(service.id, service.secret!) }, body: form({ grant_type: 'client_credentials' }) });
  t.equal(token.status, 200, 'a live client_credentials token');
  const heard: string[] = [];
  const unsubscribe = await ctx.bus.subscribe('revocations', (message) => heard.push(message));
  t.teardown(unsubscribe);

  const before = Date.now();
  t.equal(await removeClient(ctx, service.id), true);
  const after = Date.now();
  const windowMs = (config.accessTokenTtl + 30) * 1000;

  const row = await ctx.db.selectFrom('auth.revoked_clients').selectAll().where('client_id', '=', service.id).executeTakeFirstOrThrow();
  // PostgreSQL's clock decides `revoked_until`; allow it a second's disagreement with this process.
  t.ok(Math.abs(row.revoked_until.getTime() - row.revoked_at.getTime() - windowMs) < 5, 'recorded until ACCESS_TOKEN_TTL + skew after the delete');
  t.ok(row.revoked_until.getTime() > before + windowMs - 1_000 && row.revoked_until.getTime() < after + windowMs + 1_000);

  await new Promise((resolve) => setTimeout(resolve, 50));
  const messages = heard.map((text) => JSON.parse(text) as { type: string; id: string; until: number; at: number });
  t.same(
    messages.filter((m) => m.type === 'client').map(({ type, id, until }) => ({ type, id, until })),
    [{ type: 'client', id: service.id, until: row.revoked_until.getTime() }],
    'one client revocation on the channel, with the recorded until',
  );
  const member = (await ctx.bus.listExpiring('revoked')).find((entry) => entry.member === `client:${service.id}`);
  t.equal(member?.expiresAtMs, row.revoked_until.getTime(), 'and in the catch-up set');
  t.notOk(heard.some((text) => text.includes(bystander.id)), 'no other client is named');

  const again = await http(auth.base, 'POST', '/oauth/token', { headers: { ...FORM, ...basic(service.id, service.secret!) }, body: form({ grant_type: 'client_credentials' }) });
  t.equal(again.status, 401, 'the deleted client gets no new token');
  const introspected = await http(auth.base, 'POST', '/oauth/introspect', {
    headers: { ...FORM, ...basic(bystander.id, bystander.secret!) },
    body: form({ token: (token.body as { access_token: string }).access_token }),
  });
  t.same(introspected.body, { active: false }, 'its token is inactive at introspection');
});

test('deleting an unknown client revokes nothing', async (t) => {
  const auth = await startIssuer(t);
  const heard: string[] = [];
  const unsubscribe = await auth.ctx.bus.subscribe('revocations', (message) => heard.push(message));
  t.teardown(unsubscribe);
  t.equal(await removeClient(auth.ctx, 'no-such-client'), false);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(heard, []);
  t.same(await auth.ctx.db.selectFrom('auth.revoked_clients').selectAll().execute(), []);
});
