// Emergency key rotation (authctl keys revoke <kid>): the revoked key leaves the JWKS and stops
// signing at once on every instance (told on the revocations channel, not at the next
// KEY_REFRESH_SECONDS re-read), a new key signs immediately, and the gateways are told.
import { test } from 'tap';
import { createTestEnvironment, realDatabaseUrl, realRedisUrl } from '@keygate/testing';
import { publishRevocation } from '../../src/revocations/service.js';
import { retentionSeconds, revokeSigningKey, rotateSigningKey } from '../../src/keys/rotation.js';
import { authctl, bearer, http, login, registerAndLogin, startAuth, waitFor } from '../helpers.js';

const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string };

async function publishedKids(base: string): Promise<string[]> {
  return ((await http(base, 'GET', '/.well-known/jwks.json')).body as { keys: { kid: string }[] }).keys.map((key) => key.kid);
}

/** Milliseconds until check() holds, polling every 10 ms for at most 2 s; -1 when it never did. */
async function msUntil(check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  return (await waitFor(check, 2_000)) ? performance.now() - started : -1;
}

// KEY_REFRESH_SECONDS at its maximum: the periodic re-read cannot be what makes any of this happen.
const SLOW_REFRESH = { KEY_REFRESH_SECONDS: '300' };

test('revoking the current key: out of the JWKS at once, the next login signs with a new key, the gateways are told', async (t) => {
  const auth = await startAuth(t, SLOW_REFRESH);
  const { base, ctx, config } = auth;
  const user = await registerAndLogin(base);
  const oldKid = headerOf(user.accessToken).kid;
  t.same(await publishedKids(base), [oldKid]);
  const heard: string[] = [];
  const unsubscribe = await ctx.bus.subscribe('revocations', (message) => heard.push(message));
  t.teardown(unsubscribe);

  // What `authctl keys revoke` does, through this instance's own bus.
  const revocation = await revokeSigningKey(ctx.db, config, oldKid);
  t.equal(revocation.stateBefore, 'current');
  t.notOk(revocation.alreadyRevoked);
  const replacement = revocation.replacement!;
  t.ok(replacement && replacement.kid !== oldKid, 'a new key was made');
  const untilMs = revocation.revoked.revoked_at!.getTime() + retentionSeconds(config) * 1000;
  await publishRevocation(ctx, 'key', oldKid, untilMs);

  const gone = await msUntil(async () => !(await publishedKids(base)).includes(oldKid));
  t.ok(gone >= 0 && gone < 1_000, `the revoked kid left /.well-known/jwks.json after ${gone.toFixed(0)} ms`);
  t.same(await publishedKids(base), [replacement.kid], 'only the new key is published');
  const next = await login(base, user.email);
  t.equal(headerOf(next.accessToken).kid, replacement.kid, 'the next login is signed with the new key');
  t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(next.accessToken) })).status, 200);
  t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(user.accessToken) })).status, 401, "the revoked key's token is refused by auth too");

  const message = heard.map((text) => JSON.parse(text) as { type: string; id: string; until: number }).find((m) => m.type === 'key');
  t.match(message, { type: 'key', id: oldKid, until: untilMs }, 'the gateways were told on the channel');
  t.ok((await ctx.bus.listExpiring('revoked')).some((entry) => entry.member === `key:${oldKid}`), 'and in the catch-up set');
  const row = await ctx.db.selectFrom('auth.signing_keys').selectAll().where('kid', '=', oldKid).executeTakeFirstOrThrow();
  t.equal(row.state, 'retired', 'never published or signing again');
  t.ok(row.revoked_at, 'recorded as revoked');
  const audit = await ctx.db.selectFrom('auth.audit_events').select('details').where('event', '=', 'key_revoked').executeTakeFirstOrThrow();
  t.same(audit.details, { kid: oldKid, state: 'current', replaced_by: replacement.kid });

  // Revoking again changes nothing but announces it again; the key never comes back.
  const again = await revokeSigningKey(ctx.db, config, oldKid);
  t.ok(again.alreadyRevoked);
  t.equal(again.replacement, undefined, 'no second new key');
  t.equal(again.revoked.revoked_at!.getTime(), row.revoked_at!.getTime(), 'the first revocation time is kept');
  await ctx.keys.refresh();
  t.same(await publishedKids(base), [replacement.kid]);
});

test('revoking a key that is not signing (the pending next key) leaves the current key signing', async (t) => {
  const auth = await startAuth(t, SLOW_REFRESH);
  const { base, ctx, config } = auth;
  const current = ctx.keys.signingKey()!.kid;
  const pending = await rotateSigningKey(ctx.db, config);
  await ctx.keys.refresh();
  t.same((await publishedKids(base)).sort(), [current, pending.kid].sort());
  const revocation = await revokeSigningKey(ctx.db, config, pending.kid);
  t.equal(revocation.stateBefore, 'next');
  t.equal(revocation.replacement, undefined);
  await publishRevocation(ctx, 'key', pending.kid, Date.now() + 60_000);
  t.ok(await waitFor(async () => !(await publishedKids(base)).includes(pending.kid), 1_000), 'the revoked next key left the JWKS at once');
  t.equal(ctx.keys.signingKey()!.kid, current, 'the current key still signs');
  t.same(await publishedKids(base), [current]);
  const rows = await ctx.db.selectFrom('auth.signing_keys').select(['kid', 'state']).where('state', 'in', ['next', 'current']).execute();
  t.same(rows, [{ kid: current, state: 'current' }], 'no rotation is pending any more');
});

test('authctl keys revoke: an unknown kid is refused in one line; revoking the only key makes a new one', async (t) => {
  const environment = await createTestEnvironment();
  t.teardown(() => environment.cleanup());
  const { env } = environment;
  const unknown = await authctl(env, 'keys', 'revoke', 'no-such-kid');
  t.equal(unknown.code, 1);
  t.equal(unknown.stderr, 'no signing key with kid no-such-kid (see authctl keys list)\n', 'one line');
  t.equal(unknown.stdout, '');
  const usage = await authctl(env, 'keys', 'revoke');
  t.equal(usage.code, 1);
  t.match(usage.stderr, /^give exactly one kid/);

  const created = await authctl(env, 'keys', 'rotate');
  const only = /^new key (\S+) \(RS256\) is current/.exec(created.stdout)?.[1];
  t.ok(only, 'the first key (there was none)');
  const revoked = await authctl(env, 'keys', 'revoke', only!);
  t.equal(revoked.code, 0, revoked.stderr);
  t.match(revoked.stdout, new RegExp(`^key ${only} is revoked \\(it was current\\)`));
  const replacement = /new key (\S+) \(RS256\) is current: it signs new tokens now/.exec(revoked.stdout)?.[1];
  t.ok(replacement && replacement !== only, 'a new key is current');
  const listed = await authctl(env, 'keys', 'list');
  t.match(listed.stdout, new RegExp(`${only}\\tRS256\\trevoked\\t`));
  t.match(listed.stdout, new RegExp(`${replacement}\\tRS256\\tcurrent\\t`));
  const help = await authctl(env, 'keys', 'revoke', '--help');
  t.match(help.stdout, /^usage: authctl keys revoke <kid>/);
});

test('authctl keys revoke against running instances: every instance drops the key at once', { skip: realDatabaseUrl && realRedisUrl ? false : 'needs DATABASE_URL and REDIS_URL (the CLI and the service share them)' }, async (t) => {
  const auth = await startAuth(t, SLOW_REFRESH);
  const user = await registerAndLogin(auth.base);
  const oldKid = headerOf(user.accessToken).kid;
  const started = performance.now();
  const cli = await authctl(auth.env, 'keys', 'revoke', oldKid);
  const cliMs = performance.now() - started;
  t.equal(cli.code, 0, cli.stderr);
  const newKid = /new key (\S+) \(RS256\) is current/.exec(cli.stdout)?.[1];
  t.ok(newKid);
  t.match(cli.stdout, /refuses tokens signed with \S+ within a second/);
  const gone = await msUntil(async () => !(await publishedKids(auth.base)).includes(oldKid));
  t.ok(gone >= 0 && gone < 1_000, `out of the JWKS ${gone.toFixed(0)} ms after the command returned (it took ${cliMs.toFixed(0)} ms)`);
  t.equal(headerOf((await login(auth.base, user.email)).accessToken).kid, newKid, 'the next login is signed with the new key');
});
