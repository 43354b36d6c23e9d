import { test } from 'tap';
import { ConfigError, coreSettings, loadSettings, isSentinelUrl, parseSentinelUrl } from '../src/index.js';

test('a redis+sentinel:// URL names the sentinels, the master, the passwords and the db', async (t) => {
  t.same(parseSentinelUrl('redis+sentinel://:s3cr%40t@10.0.0.1:26380,sentinel-b,[::1]:26381/mymaster?db=3&sentinel_password=sp'), {
    sentinels: [
      { host: '10.0.0.1', port: 26380 },
      { host: 'sentinel-b', port: 26379 },
      { host: '::1', port: 26381 },
    ],
    name: 'mymaster',
    db: 3,
    password: 's3cr@t',
    sentinelPassword: 'sp',
  });
  t.same(
    parseSentinelUrl('redis+sentinel://127.0.0.1:1/m'),
    { sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'm', db: 0 },
    'no password, db 0',
  );
  t.ok(isSentinelUrl('REDIS+SENTINEL://h/m'), 'the scheme is case-insensitive');
  t.notOk(isSentinelUrl('redis://h:6379'), 'redis:// is not the Sentinel form');
});

test('REDIS_URL accepts the Sentinel form and refuses a malformed one in one line naming the setting', async (t) => {
  const good = 'redis+sentinel://h1:26379,h2:26379,h3:26379/m';
  t.equal(loadSettings(coreSettings, { REDIS_URL: good }).redisUrl, good, 'kept as given for the bus');
  t.equal(loadSettings(coreSettings, { REDIS_URL: 'redis://r:6379' }).redisUrl, 'redis://r:6379', 'redis:// still works');
  for (const [bad, reason] of [
    ['redis+sentinel://h1:26379,h2:26379', /master-name/],
    ['redis+sentinel:///m', /master-name/],
    ['redis+sentinel://h1:99999/m', /bad sentinel address "h1:99999"/],
    ['redis+sentinel://h1,bad host/m', /bad sentinel address/],
    ['redis+sentinel://h1/m?db=x', /db=x/],
    ['redis+sentinel://h1/m?timeout=1', /unknown parameter "timeout"/],
  ] as const) {
    let error: unknown;
    try {
      loadSettings(coreSettings, { REDIS_URL: bad });
    } catch (caught) {
      error = caught;
    }
    t.ok(error instanceof ConfigError && error.setting === 'REDIS_URL', `${bad}: refused as REDIS_URL`);
    t.match((error as Error).message, reason, `${bad}: says why`);
    t.notMatch((error as Error).message, /\n/, 'in one line');
  }
});
