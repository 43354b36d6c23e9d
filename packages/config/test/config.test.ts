import { test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  assertProductionReady,
  assertSeparateMetricsPort,
  base64Key,
  bool,
  coreSettings,
  describeSettings,
  embeddedSecret,
  int,
  list,
  loadSettings,
  metricsListenerSettings,
  oneOf,
  sampleServiceSettings,
  serviceEntry,
  url,
} from '../src/index.js';

function errorFor(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

test('defaults apply when nothing is set', async (t) => {
  const config = loadSettings(coreSettings, {});
  t.equal(config.nodeEnv, 'development');
  t.equal(config.issuer, 'http://localhost:8080');
  t.equal(config.audience, 'api');
  t.equal(config.databaseUrl, undefined);
  t.ok(Object.isFrozen(config));
});

test('each kind of mistake stops loading with one message naming the setting', async (t) => {
  const spec = {
    ttl: int('ACCESS_TOKEN_TTL', { default: 900, min: 60, max: 86_400, unit: 'seconds' }),
    db: url('DATABASE_URL', { protocols: ['postgres:', 'postgresql:'] }),
    env: oneOf('NODE_ENV', ['development', 'production'] as const, { default: 'development' }),
    kek: base64Key('KEY_ENCRYPTION_KEY', { bytes: 32 }),
    flag: bool('PASSWORD_GRANT_ENABLED', { default: true }),
    origins: list('ALLOWED_ORIGINS', { check: (o) => { if (!/^https?:\/\/[^/]+$/.test(o)) throw new Error(`"${o}" is not an origin`); } }),
  };
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ ACCESS_TOKEN_TTL: 'soon' }, 'ACCESS_TOKEN_TTL', /whole number of seconds/],
    [{ ACCESS_TOKEN_TTL: '5' }, 'ACCESS_TOKEN_TTL', /between 60 and 86400/],
    [{ ACCESS_TOKEN_TTL: '12.5' }, 'ACCESS_TOKEN_TTL', /whole number/],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /must use postgres:/],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /must be a URL/],
    [{ NODE_ENV: 'prod' }, 'NODE_ENV', /one of development, production/],
    [{ KEY_ENCRYPTION_KEY: 'c2hvcnQ=' }, 'KEY_ENCRYPTION_KEY', /exactly 32 bytes, got 5/],
    [{ KEY_ENCRYPTION_KEY: 'not base64!' }, 'KEY_ENCRYPTION_KEY', /base64/],
    [{ PASSWORD_GRANT_ENABLED: 'maybe' }, 'PASSWORD_GRANT_ENABLED', /true or false/],
    [{ ALLOWED_ORIGINS: 'https://ok.example, ftp://x/y' }, 'ALLOWED_ORIGINS', /is not an origin/],
  ];
  for (const [env, setting, message] of cases) {
    const error = errorFor(() => loadSettings(spec, env));
    t.equal(error.setting, setting, `${JSON.stringify(env)} names ${setting}`);
    t.match(error.message, new RegExp(`^Invalid setting ${setting}: `));
    t.match(error.message, message);
    t.notOk(error.message.includes('\n'), 'one line');
  }
});

test('valid values parse to typed values', async (t) => {
  const config = loadSettings(
    {
      ttl: int('ACCESS_TOKEN_TTL', { default: 900, min: 60, max: 86_400 }),
      kek: base64Key('KEY_ENCRYPTION_KEY', { bytes: 32 }),
      flag: bool('FLAG', { default: false }),
      origins: list('ALLOWED_ORIGINS'),
    },
    { ACCESS_TOKEN_TTL: ' 600 ', KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64url'), FLAG: 'yes', ALLOWED_ORIGINS: 'https://a.example, ,https://b.example' },
  );
  t.equal(config.ttl, 600);
  t.same(config.kek, Buffer.alloc(32, 7));
  t.equal(config.flag, true);
  t.same(config.origins, ['https://a.example', 'https://b.example']);
});

test('production refuses embedded defaults and missing secrets', async (t) => {
  const prod = loadSettings(coreSettings, { NODE_ENV: 'production' });
  t.equal(errorFor(() => assertProductionReady(prod, {})).setting, 'DATABASE_URL');
  const withDb = loadSettings(coreSettings, { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x' });
  t.equal(errorFor(() => assertProductionReady(withDb, {})).setting, 'REDIS_URL');
  const both = loadSettings(coreSettings, { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r:6379' });
  t.equal(errorFor(() => assertProductionReady(both, { GATEWAY_SECRET: undefined })).setting, 'GATEWAY_SECRET');
  t.doesNotThrow(() => assertProductionReady(both, { GATEWAY_SECRET: Buffer.alloc(32) }));
  const noDatabase = loadSettings(coreSettings, { NODE_ENV: 'production', REDIS_URL: 'redis://r:6379' });
  t.doesNotThrow(() => assertProductionReady(noDatabase, {}, { needsDatabase: false }), 'the gateway keeps no database');
  t.equal(
    errorFor(() => embeddedSecret(undefined, { env: 'KEY_ENCRYPTION_KEY', dataDir: '/nonexistent', bytes: 32, nodeEnv: 'production', warn: () => {} })).setting,
    'KEY_ENCRYPTION_KEY',
  );
});

test('embedded secrets are generated once into DATA_DIR with a warning, then reused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const warnings: string[] = [];
  const options = { env: 'GATEWAY_SECRET', dataDir: dir, bytes: 32, nodeEnv: 'development', warn: (m: string) => warnings.push(m) };
  const first = embeddedSecret(undefined, options);
  const second = embeddedSecret(undefined, options);
  t.equal(first.length, 32);
  t.same(second, first, 'stable across restarts');
  t.equal(warnings.length, 1);
  t.match(warnings[0], /GATEWAY_SECRET is not set/);
  t.equal(Buffer.from(readFileSync(join(dir, 'secrets', 'gateway_secret'), 'utf8'), 'base64').length, 32);
  const configured = Buffer.alloc(32, 1);
  t.equal(embeddedSecret(configured, options), configured, 'a configured secret wins');
});

test('describeSettings masks secrets', async (t) => {
  const config = loadSettings(coreSettings, { DATABASE_URL: 'postgres://user:pw@db/x', GATEWAY_SECRET: Buffer.alloc(32).toString('base64') });
  const described = describeSettings(coreSettings, config);
  t.equal(described.DATABASE_URL, '********');
  t.equal(described.GATEWAY_SECRET, '********');
  t.equal(described.AUDIENCE, 'api');
  t.equal(described.REDIS_URL, '(unset)');
});

test('the operations listener: loopback and the service\'s own port by default, validated like every setting', async (t) => {
  const spec = metricsListenerSettings(9081);
  t.same({ ...loadSettings(spec, {}) }, { metricsHost: '127.0.0.1', metricsPort: 9081 });
  t.same({ ...loadSettings(spec, { METRICS_HOST: '0.0.0.0', METRICS_PORT: '0' }) }, { metricsHost: '0.0.0.0', metricsPort: 0 }, '0 takes a free port');
  t.equal(loadSettings(spec, { METRICS_HOST: '::' }).metricsHost, '::');
  t.equal(loadSettings(spec, { METRICS_HOST: 'ops.internal' }).metricsHost, 'ops.internal');
  for (const [env, value, message] of [
    ['METRICS_PORT', '65536', /^Invalid setting METRICS_PORT: must be between 0 and 65535, got 65536$/],
    ['METRICS_PORT', 'nine', /^Invalid setting METRICS_PORT: must be a whole number, got "nine"$/],
    ['METRICS_HOST', 'http://0.0.0.0', /^Invalid setting METRICS_HOST: must be an IP address or a host name, got "http:\/\/0.0.0.0"$/],
    ['METRICS_HOST', '0.0.0.0:9081', /^Invalid setting METRICS_HOST: must be an IP address or a host name/],
    ['METRICS_HOST', 'ops .internal', /^Invalid setting METRICS_HOST/],
  ] as const) {
    const error = errorFor(() => loadSettings(spec, { [env]: value }));
    t.equal(error.setting, env);
    t.match(error.message, message);
    t.notMatch(error.message, /\n/, 'one line');
  }
  const clash = errorFor(() => assertSeparateMetricsPort({ port: 8081, metricsPort: 8081 }, 'AUTH_PORT'));
  t.equal(clash.setting, 'METRICS_PORT');
  t.match(clash.message, /must differ from AUTH_PORT \(8081\)/);
  t.doesNotThrow(() => assertSeparateMetricsPort({ port: 0, metricsPort: 0 }, 'AUTH_PORT'), 'two free ports never clash');
});

test('DATABASE_URL may list several hosts (libpq failover form); REDIS_URL may not', async (t) => {
  const multi = 'postgres://u:p@db-1:5432,db-2:5432/x?target_session_attrs=read-write';
  t.equal(loadSettings(coreSettings, { DATABASE_URL: multi }).databaseUrl, multi, 'kept as given for packages/db');
  t.throws(() => loadSettings(coreSettings, { DATABASE_URL: 'mysql://a:1,b:2/x' }), /must use postgres:/, 'the scheme is still checked');
  t.throws(() => loadSettings(coreSettings, { REDIS_URL: 'redis://a:6379,b:6379' }), /must be a URL/, 'other URLs are single-host');
});

test('a sample service\'s settings: the core, its two ports from services.json, the shared load rules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kg-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const orders = sampleServiceSettings('orders');
  const entry = serviceEntry('orders');
  t.same(Object.keys(orders.settings), [...Object.keys(coreSettings), 'port', 'metricsHost', 'metricsPort'], 'nothing but the shared head');
  const warnings: string[] = [];
  const config = orders.loadConfig({ DATA_DIR: dir }, (message) => warnings.push(message));
  t.equal(config.port, entry.port, `ORDERS_PORT defaults to the manifest's ${entry.port}`);
  t.equal(config.metricsPort, entry.metricsPort, `METRICS_PORT defaults to the manifest's ${entry.metricsPort}`);
  t.equal(config.gatewaySecret.length, 32, 'a development GATEWAY_SECRET is generated');
  t.match(warnings, [/GATEWAY_SECRET is not set/]);
  t.ok(Object.isFrozen(config));
  t.match(errorFor(() => orders.loadConfig({ ORDERS_PORT: '9000', METRICS_PORT: '9000' })).message, /must differ from ORDERS_PORT \(9000\)/);
  const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r:6379' };
  t.equal(errorFor(() => orders.loadConfig(production)).setting, 'GATEWAY_SECRET', 'production wants the secret');
  t.equal(orders.loadConfig({ ...production, GATEWAY_SECRET: Buffer.alloc(32, 7).toString('base64') }).gatewaySecret[0], 7);
  t.throws(() => sampleServiceSettings('billing'), /no service "billing"/, 'a name not in the manifest stops at once');
});
