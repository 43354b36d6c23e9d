/**
 * Email verification over real SMTP: registration mails a link to a capture server in the test;
 * the token works once, expires, and unknown or reused tokens get the same 400 invalid_token.
 * REQUIRE_VERIFIED_EMAIL refuses password sign-ins of unproven addresses; the resend is Bearer
 * (scope account) and rate limited.
 */
import { test } from 'tap';
import { sql } from 'kysely';
import { FORM, form, register } from '../oauth-helpers.js';
import { PASSWORD, bearer, http, login, mailedToken, sleep, startAuthWithMail, uniqueEmail } from '../helpers.js';

const INVALID = { error: 'invalid_token', error_description: 'The link is invalid, has expired or was already used.' };

test('registration mails a single-use verification link; /auth/me tells', async (t) => {
  const { base, smtp, config, ctx } = await startAuthWithMail(t);
  const email = uniqueEmail('verify');
  t.equal((await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } })).status, 201);
  const mail = await smtp.waitFor((m) => m.to.includes(email));
  t.equal(mail.subject, 'Confirm your email address');
  t.match(mail.text, new RegExp(`^${config.issuer}/#verify_email=`, 'm'), 'the link is built from ISSUER');
  t.match(mail.raw, /text\/html/, 'an HTML part too');
  t.match(mail.messageId, /^<keygate-\d+@/, 'the outbox id is the Message-ID');
  const token = mailedToken(mail, 'verify_email');

  const session = await login(base, email);
  const before = await http(base, 'GET', '/auth/me', { headers: bearer(session.accessToken) });
  t.equal((before.body as { email_verified: boolean }).email_verified, false);

  t.equal((await http(base, 'POST', '/auth/verify-email', { json: { token } })).status, 204);
  const after = await http(base, 'GET', '/auth/me', { headers: bearer(session.accessToken) });
  t.equal((after.body as { email_verified: boolean }).email_verified, true);

  const again = await http(base, 'POST', '/auth/verify-email', { json: { token } });
  t.equal(again.status, 400, 'a second use is refused');
  t.same(again.body, INVALID);
  const unknown = await http(base, 'POST', '/auth/verify-email', { json: { token: 'A'.repeat(43) } });
  t.same([unknown.status, unknown.body], [400, INVALID], 'an unknown token gets the same answer');
  const malformed = await http(base, 'POST', '/auth/verify-email', { json: { token: 'not a token' } });
  t.same([malformed.status, malformed.body], [400, INVALID], 'so does a malformed one');
  t.equal((await http(base, 'POST', '/auth/verify-email', { json: { token, extra: 1 } })).status, 400, 'unknown members are refused');
  t.equal((await http(base, 'POST', '/auth/verify-email', { body: token, headers: { 'content-type': 'text/plain' } })).status, 415, 'a form-like body is refused');

  const resend = await http(base, 'POST', '/auth/verify-email/resend', { headers: bearer(session.accessToken) });
  t.equal(resend.status, 409, 'no resend once verified');
  t.equal((resend.body as { error: string }).error, 'already_verified');

  const audit = await sql<{ event: string; user_id: string }>`
    select event, user_id from auth.audit_events where event like 'email_verification_%' and user_id = ${session.userId} order by id`.execute(ctx.db);
  t.same(audit.rows.map((r) => r.event), ['email_verification_sent', 'email_verification_confirmed'], 'audit rows: sent, confirmed');
});

test('a verification token expires (EMAIL_VERIFICATION_TTL)', async (t) => {
  const { base, smtp } = await startAuthWithMail(t, { EMAIL_VERIFICATION_TTL: '1' });
  const email = uniqueEmail('expire');
  await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
  const token = mailedToken(await smtp.waitFor((m) => m.to.includes(email)), 'verify_email');
  await sleep(1_200);
  const expired = await http(base, 'POST', '/auth/verify-email', { json: { token } });
  t.same([expired.status, expired.body], [400, INVALID], 'an expired token gets the same answer as an unknown one');
});

test('REQUIRE_VERIFIED_EMAIL: login and the password grant answer 403 email_not_verified until verified', async (t) => {
  const auth = await startAuthWithMail(t, { REQUIRE_VERIFIED_EMAIL: 'true' });
  const { base, smtp } = auth;
  const email = uniqueEmail('required');
  await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
  const refused = await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD } });
  t.equal(refused.status, 403);
  t.equal((refused.body as { error: string }).error, 'email_not_verified');
  t.same(refused.cookies, [], 'no refresh cookie');
  const wrong = await http(base, 'POST', '/auth/login', { json: { email, password: 'wrong password!' } });
  t.equal(wrong.status, 401, 'a wrong password is still 401: the 403 needs the password');

  const client = await register(auth, { public: true, firstParty: true, grants: ['password'], scopes: ['account'] });
  const grant = async () => http(base, 'POST', '/oauth/token', { body: form({ grant_type: 'password', client_id: client.id, username: email, password: PASSWORD }), headers: FORM });
  const grantRefused = await grant();
  t.equal(grantRefused.status, 403, 'the password grant too');
  t.equal((grantRefused.body as { error: string }).error, 'email_not_verified');

  const token = mailedToken(await smtp.waitFor((m) => m.to.includes(email)), 'verify_email');
  t.equal((await http(base, 'POST', '/auth/verify-email', { json: { token } })).status, 204);
  t.equal((await http(base, 'POST', '/auth/login', { json: { email, password: PASSWORD } })).status, 200, 'login works once verified');
  t.equal((await grant()).status, 200, 'and the password grant');
});

test('resend: Bearer with scope account, a new working link, rate limited per account', async (t) => {
  const { base, smtp } = await startAuthWithMail(t, { RATE_LIMIT_VERIFY_EMAIL_PER_ACCOUNT: '2' });
  const email = uniqueEmail('resend');
  await http(base, 'POST', '/auth/register', { json: { email, password: PASSWORD } });
  await smtp.waitFor((m) => m.to.includes(email));
  t.equal((await http(base, 'POST', '/auth/verify-email/resend')).status, 401, 'no token: 401');
  const session = await login(base, email);
  t.equal((await http(base, 'POST', '/auth/verify-email/resend', { headers: bearer(session.accessToken) })).status, 202);
  await smtp.waitFor((m) => m.to.includes(email) && smtp.mails.filter((x) => x.to.includes(email)).length >= 2);
  t.equal((await http(base, 'POST', '/auth/verify-email/resend', { headers: bearer(session.accessToken) })).status, 202);
  const limited = await http(base, 'POST', '/auth/verify-email/resend', { headers: bearer(session.accessToken) });
  t.equal(limited.status, 429, 'the third resend within a minute is refused');
  t.ok(limited.headers.get('retry-after'));
  const mails = await smtp.waitFor(() => smtp.mails.filter((x) => x.to.includes(email)).length >= 3).then(() => smtp.mails.filter((x) => x.to.includes(email)));
  const latest = mailedToken(mails.at(-1)!, 'verify_email');
  t.equal((await http(base, 'POST', '/auth/verify-email', { json: { token: latest } })).status, 204, 'the resent link works');
  const first = mailedToken(mails[0]!, 'verify_email');
  t.equal((await http(base, 'POST', '/auth/verify-email', { json: { token: first } })).status, 400, 'and spends the older links with it');
});

test('verify-email is rate limited per address', async (t) => {
  const { base } = await startAuthWithMail(t, { RATE_LIMIT_VERIFY_EMAIL_PER_IP: '3' });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i += 1) statuses.push((await http(base, 'POST', '/auth/verify-email', { json: { token: 'A'.repeat(43) } })).status);
  t.same(statuses, [400, 400, 400, 429]);
});
