/**
 * Password reset over real SMTP: 202 for any email, a mailed single-use token (30 min by default)
 * only for an existing account, confirm → 204 with every session revoked; expired, reused and
 * unknown tokens get one answer; the 202 takes the same time for an unknown email as for a known
 * one; per-address and per-account limits reach 429.
 */
import { test } from 'tap';
import { sql } from 'kysely';
import { PASSWORD, bearer, http, login, mailedToken, refresh, registerAndLogin, run, sleep, startAuthWithMail, uniqueEmail } from '../helpers.js';

const INVALID = { error: 'invalid_token', error_description: 'The link is invalid, has expired or was already used.' };
const NEW_PASSWORD = 'a brand new passphrase';

/** Alternates a known and an unknown email (which goes first alternates too); prints the durations. */
const TIMING_CLIENT = `
const [base, knownEmail] = process.argv.slice(1);
const known = [], unknown = [], statuses = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const timed = async (email) => {
  const started = performance.now();
  const response = await fetch(base + '/auth/password-reset', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  await response.arrayBuffer();
  statuses.push(response.status);
  return performance.now() - started;
};
for (let i = 0; i < 16; i += 1) {
  for (const isKnown of i % 2 === 0 ? [true, false] : [false, true]) {
    if (isKnown) known.push(await timed(knownEmail));
    else unknown.push(await timed('ghost-' + i + '-' + Math.random().toString(36).slice(2) + '@example.com'));
    await sleep(150);
  }
}
process.stdout.write(JSON.stringify({ known, unknown, statuses }));
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

test('password reset: 202 for anyone, a working link once, every session revoked, equal time', async (t) => {
  const { base, smtp, ctx } = await startAuthWithMail(t, { RATE_LIMIT_PASSWORD_RESET_PER_IP: '1000', RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT: '1000' });
  const first = await registerAndLogin(base);
  const second = await login(base, first.email);

  const asked = await http(base, 'POST', '/auth/password-reset', { json: { email: `  ${first.email.toUpperCase()} ` } });
  t.equal(asked.status, 202, 'the email as typed (case, spaces) finds the account');
  t.equal(asked.text, '');
  t.equal(asked.headers.get('cache-control'), 'no-store');
  const mail = await smtp.waitFor((m) => m.to.includes(first.email) && m.subject === 'Reset your password');
  const token = mailedToken(mail, 'reset_password');

  const unknownEmail = uniqueEmail('nobody');
  t.equal((await http(base, 'POST', '/auth/password-reset', { json: { email: unknownEmail } })).status, 202, 'an unknown email gets the same 202');

  const weak = await http(base, 'POST', '/auth/password-reset/confirm', { json: { token, new_password: 'short' } });
  t.equal(weak.status, 400, 'a too-short password is refused');
  const done = await http(base, 'POST', '/auth/password-reset/confirm', { json: { token, new_password: NEW_PASSWORD } });
  t.equal(done.status, 204, 'and did not spend the token: the reset then works');

  for (const session of [first, second]) {
    t.equal((await refresh(base, session.refreshToken)).status, 401, 'every refresh token is dead');
    t.equal((await http(base, 'GET', '/auth/me', { headers: bearer(session.accessToken) })).status, 401, 'every access token is refused');
  }
  t.equal((await http(base, 'POST', '/auth/login', { json: { email: first.email, password: PASSWORD } })).status, 401, 'the old password is gone');
  const fresh = await login(base, first.email, NEW_PASSWORD);
  const me = await http(base, 'GET', '/auth/me', { headers: bearer(fresh.accessToken) });
  t.equal((me.body as { email_verified: boolean }).email_verified, true, 'a reset link proves the address too');

  const reused = await http(base, 'POST', '/auth/password-reset/confirm', { json: { token, new_password: 'yet another passphrase' } });
  t.same([reused.status, reused.body], [400, INVALID], 'a used token is refused');
  const unknown = await http(base, 'POST', '/auth/password-reset/confirm', { json: { token: 'B'.repeat(43), new_password: NEW_PASSWORD } });
  t.same([unknown.status, unknown.body], [400, INVALID], 'an unknown token gets the same answer');
  const verifyToken = await http(base, 'POST', '/auth/password-reset/confirm', { json: { token: mailedToken(smtp.mails.find((m) => m.to.includes(first.email) && m.subject !== 'Reset your password')!, 'verify_email'), new_password: NEW_PASSWORD } });
  t.same([verifyToken.status, verifyToken.body], [400, INVALID], 'a verification token is not a reset token');

  await sleep(300);
  t.notOk(smtp.mails.some((m) => m.to.includes(unknownEmail)), 'nothing is mailed to an unknown address');
  const audit = await sql<{ event: string; user_id: string | null; details: { sent?: boolean; revoked_sessions?: number } }>`
    select event, user_id, details from auth.audit_events where event like 'password_reset_%' order by id`.execute(ctx.db);
  t.same(
    audit.rows.map((r) => [r.event, r.user_id === first.userId, r.details.sent ?? r.details.revoked_sessions]),
    [['password_reset_requested', true, true], ['password_reset_requested', false, false], ['password_reset_completed', true, 2]],
    'audit rows: requested (sent or not) and completed with the sessions it revoked',
  );

  // Timing: the 202 is answered before the lookup, so an unknown email cannot be told from a known
  // one. Measured by a client in another process (in this one, the embedded database's work after
  // the answer would hold up the client's own reading of it), alternating which goes first, with
  // a pause for the known request's mail to leave; medians compared with a generous tolerance.
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', TIMING_CLIENT, base, first.email], { timeout: 60_000 });
  const { known, unknown: unknownTimes, statuses } = JSON.parse(stdout) as { known: number[]; unknown: number[]; statuses: number[] };
  t.ok(statuses.every((s) => s === 202), 'every request got 202');
  const [k, u] = [median(known), median(unknownTimes)];
  t.comment(`median 202: known ${k.toFixed(2)} ms, unknown ${u.toFixed(2)} ms`);
  t.ok(Math.abs(k - u) <= Math.max(5, 0.5 * Math.max(k, u)), `the medians agree (known ${k.toFixed(2)} ms, unknown ${u.toFixed(2)} ms)`);
});

test('password reset: tokens expire; limits per account and per address reach 429', async (t) => {
  const { base, smtp } = await startAuthWithMail(t, { PASSWORD_RESET_TTL: '1', RATE_LIMIT_PASSWORD_RESET_PER_IP: '5', RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT: '2' });
  const user = await registerAndLogin(base);
  t.equal((await http(base, 'POST', '/auth/password-reset', { json: { email: user.email } })).status, 202);
  const token = mailedToken(await smtp.waitFor((m) => m.to.includes(user.email) && m.subject === 'Reset your password'), 'reset_password');
  await sleep(1_200);
  const expired = await http(base, 'POST', '/auth/password-reset/confirm', { json: { token, new_password: NEW_PASSWORD } });
  t.same([expired.status, expired.body], [400, INVALID], 'an expired token gets the same answer');
  t.equal((await refresh(base, user.refreshToken)).status, 200, 'and revokes nothing');

  t.equal((await http(base, 'POST', '/auth/password-reset', { json: { email: user.email } })).status, 202, 'second request for the account');
  const perAccount = await http(base, 'POST', '/auth/password-reset', { json: { email: user.email } });
  t.equal(perAccount.status, 429, 'the third within a minute is refused');
  t.equal((perAccount.body as { error: string }).error, 'rate_limited');
  t.ok(Number(perAccount.headers.get('retry-after')) >= 1);

  t.equal((await http(base, 'POST', '/auth/password-reset', { json: { email: uniqueEmail('other') } })).status, 202, 'fifth from this address');
  const perIp = await http(base, 'POST', '/auth/password-reset', { json: { email: uniqueEmail('other') } });
  t.equal(perIp.status, 429, 'the sixth from one address is refused, whatever the email');
  const confirmLimited = await http(base, 'POST', '/auth/password-reset/confirm', { json: { token: 'C'.repeat(43), new_password: NEW_PASSWORD } });
  t.equal(confirmLimited.status, 429, 'confirmations count against the same address limit');
});
