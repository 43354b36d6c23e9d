// The rotation statement (auth.rotate_refresh_token, migration 0009) beyond what refresh.test.ts
// covers over HTTP: its round trips counted at the driver, the sliding idle expiry, and each
// refusal leaving the chain untouched. Runs on PGlite and, with DATABASE_URL, on PostgreSQL.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { test } from 'tap';
import { sql } from 'kysely';
import { openEmbeddedPglite } from '@keygate/db';
import { hashRefreshToken } from '../../src/sessions/refresh-token-values.js';
import { rotateRefreshToken, type RotatedSession, type RotatedUser } from '../../src/sessions/service.js';
import { issueAccessToken } from '../../src/sessions/access-tokens.js';
import { FIRST_PARTY_CLIENT_ID } from '../../src/context.js';
import { refresh, refreshCookieValue, registerAndLogin, startAuth } from '../helpers.js';

/**
 * Counts the queries the database driver sends inside `run` only (its async context), so the
 * service's background work (key refresh, sweeps) in the same process is not counted. node-postgres
 * sends every query through Client#query; PGlite through PGlite#query / #exec.
 */
async function driverCounter() {
  const scope = new AsyncLocalStorage<string[]>();
  // The driver modules @keygate/db itself loads (not this package's copies).
  const fromDb = createRequire(import.meta.resolve('@keygate/db'));
  const pg = fromDb('pg') as { Client: { prototype: Record<string, unknown> } };
  // PGlite's class as @keygate/db loads it (ESM; an import here may be given its CommonJS twin):
  // taken from an instance @keygate/db opens.
  const probe = await openEmbeddedPglite();
  const pglite = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  const targets: [Record<string, unknown>, string][] = [
    [pg.Client.prototype, 'query'],
    [pglite, 'query'],
    [pglite, 'exec'],
  ];
  const originals = targets.map(([proto, name]) => proto[name] as (...args: unknown[]) => unknown);
  targets.forEach(([proto, name], i) => {
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const sent = scope.getStore();
      if (sent) sent.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text));
      return originals[i]!.apply(this, args);
    };
  });
  return {
    async count<T>(run: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
      const statements: string[] = [];
      const result = await scope.run(statements, run);
      return { result, statements };
    },
    restore: () => targets.forEach(([proto, name], i) => (proto[name] = originals[i])),
  };
}

test('refresh rotation: one statement, every guarantee', async (t) => {
  const auth = await startAuth(t);
  const { base, ctx } = auth;
  const db = ctx.db;
  const counter = await driverCounter();
  t.teardown(counter.restore);
  const meta = { ip: '127.0.0.1', userAgent: 'tap' };

  async function sessionOf(refreshToken: string) {
    const row = await db.selectFrom('auth.refresh_tokens').select('session_id').where('token_hash', '=', hashRefreshToken(refreshToken)).executeTakeFirstOrThrow();
    return db.selectFrom('auth.sessions').selectAll().where('id', '=', row.session_id).executeTakeFirstOrThrow();
  }
  const chainOf = (sessionId: string) => db.selectFrom('auth.refresh_tokens').selectAll().where('session_id', '=', sessionId).execute();
  const auditOf = (sessionId: string) => db.selectFrom('auth.audit_events').select('event').where('session_id', '=', sessionId).orderBy('id').execute();

  await t.test('a refresh makes at most two round trips to the database (driver-counted)', async (t) => {
    const user = await registerAndLogin(base);
    // What POST /auth/refresh runs (routes.ts): the rotation with the access token signed for it.
    const sign = (session: RotatedSession, owner: RotatedUser) => issueAccessToken(ctx, { sub: owner.id, role: owner.role, clientId: session.client_id, sid: session.id, scope: session.scope ?? undefined });
    const refreshOnce = (token: string) => rotateRefreshToken(ctx, token, meta, { clientId: FIRST_PARTY_CLIENT_ID }, sign);
    // Warm: the first call of a process may load keys.
    const warm = await refreshOnce(user.refreshToken);
    if (!warm.ok) throw new Error(warm.reason);
    const rotated = await counter.count(() => refreshOnce(warm.refreshToken));
    t.match(rotated.result, { ok: true, idempotentRetry: false, issued: { token_type: 'Bearer' } });
    t.ok(rotated.statements.length >= 1, 'the driver saw the rotation');
    t.ok(rotated.statements.length <= 2, `at most 2 round trips, got ${rotated.statements.length}: ${rotated.statements.join(' | ')}`);
    t.notOk(rotated.statements.some((text) => /^\s*(begin|commit)/i.test(text)), 'no explicit transaction');

    // The grace retry and the reuse revocation are one statement too.
    const retry = await counter.count(() => refreshOnce(warm.refreshToken));
    t.match(retry.result, { ok: true, idempotentRetry: true, refreshToken: rotated.result.ok ? rotated.result.refreshToken : 'x' }, 'grace retry: the same successor');
    t.ok(retry.statements.length <= 2, `grace retry: ${retry.statements.length} round trips`);
    await sql`update auth.refresh_tokens set spent_at = spent_at - interval '11 seconds' where token_hash = ${hashRefreshToken(warm.refreshToken)}`.execute(db);
    const reuse = await counter.count(() => refreshOnce(warm.refreshToken));
    t.match(reuse.result, { ok: false, reason: 'reuse_detected' });
    t.ok(reuse.statements.length <= 2, `reuse: ${reuse.statements.length} round trips`);
  });

  await t.test('the idle expiry slides to now + REFRESH_TOKEN_TTL; the absolute expiry never moves', async (t) => {
    const user = await registerAndLogin(base);
    const before = await sessionOf(user.refreshToken);
    // An idle expiry about to run out: a rotation must push it forward, not keep it.
    await sql`update auth.sessions set idle_expires_at = now() + interval '5 seconds' where id = ${before.id}`.execute(db);
    const res = await refresh(base, user.refreshToken);
    t.equal(res.status, 200);
    const after = await sessionOf(refreshCookieValue(res.cookies)!);
    const { now } = (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!;
    const expected = now.getTime() + auth.config.refreshTokenTtl * 1000;
    t.ok(Math.abs(after.idle_expires_at.getTime() - expected) < 60_000, `idle expiry slid to ~now + TTL (${after.idle_expires_at.toISOString()})`);
    t.same(after.absolute_expires_at, before.absolute_expires_at, 'absolute expiry unchanged');
    t.ok(after.last_used_at.getTime() > before.last_used_at.getTime(), 'last use recorded');
  });

  await t.test('a disabled user, a revoked session (e.g. its client deleted) or another client: refused, nothing spent or written', async (t) => {
    for (const [label, prepare, options, reason] of [
      ['disabled user', async (userId: string) => void (await sql`update auth.users set disabled = true where id = ${userId}`.execute(db)), {}, 'user_disabled'],
      ['revoked session', async (_: string, sessionId: string) => void (await sql`update auth.sessions set revoked_at = now(), revoked_reason = 'client_deleted' where id = ${sessionId}`.execute(db)), {}, 'session_revoked'],
      ['another client', async () => undefined, { clientId: 'someone-else' }, 'wrong_client'],
    ] as const) {
      const user = await registerAndLogin(base);
      const session = await sessionOf(user.refreshToken);
      await prepare(user.userId, session.id);
      const eventsBefore = await auditOf(session.id);
      const result = await rotateRefreshToken(ctx, user.refreshToken, meta, options);
      t.match(result, { ok: false, reason, sessionId: session.id, userId: user.userId }, label);
      t.same((await chainOf(session.id)).map((row) => row.spent_at), [null], `${label}: the token stays unspent, no successor`);
      t.same(await auditOf(session.id), eventsBefore, `${label}: no audit row`);
    }
  });

  await t.test('a rotation writes spend, successor, parent clear, touch and audit together', async (t) => {
    const user = await registerAndLogin(base);
    const first = await rotateRefreshToken(ctx, user.refreshToken, meta);
    if (!first.ok) throw new Error(first.reason);
    const second = await rotateRefreshToken(ctx, first.refreshToken, meta);
    if (!second.ok) throw new Error(second.reason);
    const chain = await chainOf(first.session.id);
    const byHash = new Map(chain.map((row) => [Buffer.from(row.token_hash).toString('hex'), row]));
    const head = byHash.get(hashRefreshToken(user.refreshToken).toString('hex'))!;
    const middle = byHash.get(hashRefreshToken(first.refreshToken).toString('hex'))!;
    const live = byHash.get(hashRefreshToken(second.refreshToken).toString('hex'))!;
    const hex = (value: Uint8Array | null) => (value === null ? null : Buffer.from(value).toString('hex'));
    t.equal(hex(head.successor_hash), hex(middle.token_hash));
    t.equal(head.successor_sealed, null, "the predecessor's sealed successor is cleared once the successor is used");
    t.equal(hex(middle.parent_hash), hex(head.token_hash));
    t.not(middle.successor_sealed, null, 'sealed for the grace window');
    t.equal(live.spent_at, null);
    t.equal(hex(live.parent_hash), hex(middle.token_hash));
    t.same((await auditOf(first.session.id)).map((row) => row.event), ['login_success', 'refresh', 'refresh'], 'one audit row per rotation');
    t.match(second, { user: { id: user.userId, role: 'user' }, session: { id: first.session.id } });
    t.equal((await sessionOf(second.refreshToken)).revoked_at, null, 'the session stays live');
  });

  await t.test('50 concurrent rotations of one token: one chain; of many sessions at once: each its own', async (t) => {
    const user = await registerAndLogin(base);
    const rotateAll = () => Promise.all(Array.from({ length: 50 }, () => rotateRefreshToken(ctx, user.refreshToken, meta)));
    let results: Awaited<ReturnType<typeof rotateAll>>;
    if (auth.env.DATABASE_URL) {
      // Line them up: another transaction holds the token row, so every call has read the token
      // unspent before the first can spend it. Only the session lock then keeps them to one chain
      // (without it the losers would insert a second live successor and fail), not luck in timing.
      const running = await db.transaction().execute(async (trx) => {
        await sql`select 1 from auth.refresh_tokens where token_hash = ${hashRefreshToken(user.refreshToken)} for update`.execute(trx);
        const calls = rotateAll();
        calls.catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { calls };
      });
      results = await running.calls;
    } else {
      // PGlite is one connection: the calls run one after another anyway.
      results = await rotateAll();
    }
    t.ok(results.every((r) => r.ok), 'all answered (one rotation, the rest grace retries)');
    t.equal(new Set(results.map((r) => (r.ok ? r.refreshToken : ''))).size, 1, 'one successor');
    t.equal(results.filter((r) => r.ok && !r.idempotentRetry).length, 1, 'exactly one rotation');
    const session = await sessionOf(user.refreshToken);
    const chain = await chainOf(session.id);
    t.equal(chain.length, 2);
    t.same((await auditOf(session.id)).map((row) => row.event), ['login_success', 'refresh'], 'one refresh audit row');

    const users = await Promise.all(Array.from({ length: 8 }, () => registerAndLogin(base)));
    const rotated = await Promise.all(users.map((u) => rotateRefreshToken(ctx, u.refreshToken, meta)));
    t.ok(rotated.every((r) => r.ok && !r.idempotentRetry), 'sessions rotate side by side');
  });

  await t.test('reuse outside the grace window: revoked in the same statement, audited once, published', async (t) => {
    const heard: string[] = [];
    const unsubscribe = await ctx.bus.subscribe('revocations', (message) => heard.push(message));
    t.teardown(unsubscribe);
    const user = await registerAndLogin(base);
    const first = await rotateRefreshToken(ctx, user.refreshToken, meta);
    if (!first.ok) throw new Error(first.reason);
    await sql`update auth.refresh_tokens set spent_at = spent_at - interval '11 seconds' where session_id = ${first.session.id} and spent_at is not null`.execute(db);
    const replays = await Promise.all(Array.from({ length: 5 }, () => rotateRefreshToken(ctx, user.refreshToken, meta)));
    t.equal(replays.filter((r) => !r.ok && r.reason === 'reuse_detected').length, 1, 'the first replay detects reuse');
    t.ok(replays.every((r) => !r.ok), 'none gets a token');
    const session = await sessionOf(first.refreshToken);
    t.equal(session.revoked_reason, 'refresh_token_reuse');
    const audit = await db.selectFrom('auth.audit_events').selectAll().where('session_id', '=', session.id).where('event', '=', 'refresh_reuse_detected').execute();
    t.equal(audit.length, 1);
    t.match(audit[0]!.details, { spent_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ });
    t.match(await rotateRefreshToken(ctx, first.refreshToken, meta), { ok: false, reason: 'session_revoked' }, 'the live successor is dead too');
    await new Promise((resolve) => setTimeout(resolve, 100));
    t.ok(heard.some((message) => message.includes(session.id)), 'the revocation is published to the gateways');
  });
});
