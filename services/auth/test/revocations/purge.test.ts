// Access-token revocations are kept while the token could still be presented and forgotten after:
// the purge drops only those past their token's expiry.
import { randomUUID } from 'node:crypto';
import { test } from 'tap';
import { insertRevokedAccessToken } from '../../src/revocations/repository.js';
import { accessTokenRevoked, purgeExpiredRevocations } from '../../src/revocations/service.js';
import { startAuth } from '../helpers.js';

test('the purge forgets expired token revocations and keeps live ones', async (t) => {
  const auth = await startAuth(t);
  const { db } = auth.ctx;
  const expired = randomUUID();
  const live = randomUUID();
  await insertRevokedAccessToken(db, expired, Date.now() - 60_000);
  await insertRevokedAccessToken(db, live, Date.now() + 600_000);
  t.ok(await accessTokenRevoked(db, expired), 'recorded before the purge');
  await purgeExpiredRevocations(db);
  t.notOk(await accessTokenRevoked(db, expired), 'an expired token no longer needs refusing');
  t.ok(await accessTokenRevoked(db, live), 'a token that could still be presented stays revoked');
});
