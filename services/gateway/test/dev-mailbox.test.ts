// GET /dev/mailbox: HTML with escaped content and clickable links in development; no route at all
// in production (404), whatever the auth service would answer.
import { test } from 'tap';
import { realRedisUrl } from '@keygate/testing';
import { mailboxPage } from '../src/plugins/dev-mailbox.js';
import { startRig } from './helpers.js';

test('the page escapes mail content and links only http(s) URLs', async (t) => {
  const page = mailboxPage([
    { id: '2', to: 'b@example.com', subject: '<script>alert(1)</script>', text: 'Open http://localhost:8080/#reset_password=abc_-1 now.\n<img src=x>', created_at: '2026-01-02T00:00:00.000Z', sent_at: null },
    { id: '1', to: 'a@example.com', subject: 'older-mail', text: 'javascript:alert(1)', created_at: '2026-01-01T00:00:00.000Z', sent_at: '2026-01-01T00:00:01.000Z' },
  ]);
  t.notMatch(page, /<script>|<img/, 'markup in mail is text');
  t.match(page, '<a href="http://localhost:8080/#reset_password=abc_-1">http://localhost:8080/#reset_password=abc_-1</a>');
  t.notMatch(page, /href="javascript:/, 'only http(s) URLs become links');
  t.ok(page.indexOf('&#60;script&#62;') < page.indexOf('older-mail'), 'in the order given (newest first)');
});

test('production: /dev/mailbox does not exist', async (t) => {
  // A production gateway needs REDIS_URL; an unreachable one is enough here (no test needs Redis itself).
  const rig = await startRig({ NODE_ENV: 'production', REDIS_URL: realRedisUrl ?? 'redis://127.0.0.1:1' });
  t.teardown(() => rig.close());
  const response = await fetch(`${rig.url}/dev/mailbox`);
  t.equal(response.status, 404);
  t.same(Object.keys((await response.json()) as object).sort(), ['error', 'error_description']);
  t.equal(rig.auth.seen.length, 0, 'the auth service was not asked');
});

test('development: an auth service that does not answer a mailbox gets 502, not a broken page', async (t) => {
  const rig = await startRig();
  t.teardown(() => rig.close());
  const response = await fetch(`${rig.url}/dev/mailbox`);
  // The rig's fake auth service echoes requests: not a mailbox. (tests/e2e/dev-mailbox.test.ts uses the real one.)
  t.equal(response.status, 502);
  t.equal(((await response.json()) as { error: string }).error, 'bad_gateway');
});
