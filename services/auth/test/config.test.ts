import { test } from 'tap';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ConfigError } from '@keygate/config';
import { tempDir } from '@keygate/testing';
import { loadConfig } from '../src/config.js';

const key = () => randomBytes(32).toString('base64');

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

test('defaults follow the contract', async (t) => {
  const dir = tempDir();
  t.teardown(() => dir.remove());
  const warnings: string[] = [];
  const config = loadConfig({ DATA_DIR: dir.path }, (m) => warnings.push(m));
  t.match(config, {
    port: 8081,
    accessTokenTtl: 900,
    refreshTokenTtl: 604_800,
    sessionMaxAge: 2_592_000,
    refreshGrace: 10,
    rateLimitLoginPerIp: 20,
    rateLimitLoginPerAccount: 10,
    rateLimitRegisterPerIp: 10,
    passwordHashQueueMax: 64,
    signingAlg: 'RS256',
    passwordGrantEnabled: true,
    jwksMaxAge: 300,
    passwordHashConcurrency: Math.max(1, Math.min(availableParallelism(), (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 1)),
    issuer: 'http://localhost:8080',
    audience: 'api',
  });
  t.same(config.trustedOrigins, ['http://localhost:8080', 'http://127.0.0.1:8080'], 'in development both loopback names of the gateway');
  t.equal(config.keyEncryptionKey.length, 32, 'embedded mode generates a key');
  t.ok(warnings.some((w) => w.includes('KEY_ENCRYPTION_KEY')), 'with a warning');
  t.same(loadConfig({ DATA_DIR: dir.path }).keyEncryptionKey, config.keyEncryptionKey, 'and keeps it across restarts');
});

test('invalid settings stop start-up naming the setting', async (t) => {
  const base = { KEY_ENCRYPTION_KEY: key(), GATEWAY_SECRET: key() };
  const cases: [Record<string, string>, string][] = [
    [{ REFRESH_GRACE: '31' }, 'REFRESH_GRACE'],
    [{ REFRESH_GRACE: '-1' }, 'REFRESH_GRACE'],
    [{ ACCESS_TOKEN_TTL: 'soon' }, 'ACCESS_TOKEN_TTL'],
    [{ KEY_ENCRYPTION_KEY: 'c2hvcnQ=' }, 'KEY_ENCRYPTION_KEY'],
    [{ SIGNING_ALG: 'HS256' }, 'SIGNING_ALG'],
    [{ ALLOWED_ORIGINS: 'https://ok.example,https://bad.example/path' }, 'ALLOWED_ORIGINS'],
    [{ TRUST_PROXY: '10.0.0.0/8,not-an-ip' }, 'TRUST_PROXY'],
    [{ ADMIN_EMAIL: 'a@b.c' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_PASSWORD: 'long enough' }, 'ADMIN_EMAIL'],
    [{ ADMIN_EMAIL: 'a@b.c', ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ SESSION_MAX_AGE: '3600', REFRESH_TOKEN_TTL: '7200' }, 'SESSION_MAX_AGE'],
    [{ RATE_LIMIT_LOGIN_PER_IP: '0' }, 'RATE_LIMIT_LOGIN_PER_IP'],
    [{ PASSWORD_GRANT_ENABLED: 'maybe' }, 'PASSWORD_GRANT_ENABLED'],
    [{ AUTH_PORT: '70000' }, 'AUTH_PORT'],
    [{ PASSWORD_HASH_CONCURRENCY: '0' }, 'PASSWORD_HASH_CONCURRENCY'],
    [{ PASSWORD_HASH_CONCURRENCY: 'all' }, 'PASSWORD_HASH_CONCURRENCY'],
    [{ RATE_LIMIT_REGISTER_PER_IP: '0' }, 'RATE_LIMIT_REGISTER_PER_IP'],
    [{ RATE_LIMIT_REGISTER_PER_IP: 'ten' }, 'RATE_LIMIT_REGISTER_PER_IP'],
    [{ PASSWORD_HASH_QUEUE_MAX: '-1' }, 'PASSWORD_HASH_QUEUE_MAX'],
    [{ PASSWORD_HASH_QUEUE_MAX: 'unbounded' }, 'PASSWORD_HASH_QUEUE_MAX'],
    [{ PASSWORD_HASH_QUEUE_MAX: '100001' }, 'PASSWORD_HASH_QUEUE_MAX'],
  ];
  for (const [env, setting] of cases) {
    const error = thrown(() => loadConfig({ ...base, ...env }));
    t.ok(error instanceof ConfigError, `${JSON.stringify(env)} is refused`);
    t.equal((error as ConfigError).setting, setting, `and names ${setting}`);
    t.match((error as Error).message, new RegExp(`^Invalid setting ${setting}: `));
  }
});

test('production needs KEY_ENCRYPTION_KEY', async (t) => {
  const env = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r', GATEWAY_SECRET: key(), SMTP_URL: 'smtp://mail:25' };
  t.equal((thrown(() => loadConfig(env)) as ConfigError).setting, 'KEY_ENCRYPTION_KEY');
  t.equal(loadConfig({ ...env, KEY_ENCRYPTION_KEY: key() }).nodeEnv, 'production');
});

test('mail settings: SMTP_URL required in production, smtp:// or smtps:// only', async (t) => {
  const env = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r', GATEWAY_SECRET: key(), KEY_ENCRYPTION_KEY: key() };
  const missing = thrown(() => loadConfig(env)) as ConfigError;
  t.equal(missing.setting, 'SMTP_URL');
  t.match(missing.message, /^Invalid setting SMTP_URL: is required when NODE_ENV=production/);
  t.equal(missing.message.split('\n').length, 1, 'one line');
  t.equal((thrown(() => loadConfig({ ...env, SMTP_URL: 'http://mail:25' })) as ConfigError).setting, 'SMTP_URL');
  t.equal(loadConfig({ ...env, SMTP_URL: 'smtps://user:pass@mail.example.com:465' }).smtpUrl, 'smtps://user:pass@mail.example.com:465');
  const dir = tempDir();
  t.teardown(() => dir.remove());
  const development = loadConfig({ DATA_DIR: dir.path });
  t.match(development, {
    smtpUrl: undefined,
    appUrl: undefined,
    requireVerifiedEmail: false,
    emailVerificationTtl: 86_400,
    passwordResetTtl: 1_800,
    rateLimitPasswordResetPerIp: 10,
    rateLimitPasswordResetPerAccount: 3,
    rateLimitVerifyEmailPerIp: 20,
    rateLimitVerifyEmailPerAccount: 3,
  }, 'development runs without SMTP_URL; the contract\'s lifetimes are the defaults');
  t.equal((thrown(() => loadConfig({ DATA_DIR: dir.path, MAIL_RETRY_MIN_MS: '5000', MAIL_RETRY_MAX_MS: '1000' })) as ConfigError).setting, 'MAIL_RETRY_MAX_MS');
  t.equal((thrown(() => loadConfig({ DATA_DIR: dir.path, APP_URL: 'ftp://x' })) as ConfigError).setting, 'APP_URL');
});

test('settings parse: lists, origins, proxies, grace', async (t) => {
  const config = loadConfig({
    KEY_ENCRYPTION_KEY: key(),
    GATEWAY_SECRET: key(),
    ISSUER: 'https://auth.example.com',
    ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com',
    TRUST_PROXY: '10.0.0.1, 192.168.0.0/16, ::1',
    REFRESH_GRACE: '30',
    SIGNING_ALG: 'ES256',
    PASSWORD_GRANT_ENABLED: 'false',
  });
  t.same(config.trustedOrigins, ['https://auth.example.com', 'https://app.example.com', 'https://admin.example.com']);
  t.same(config.trustProxy, ['10.0.0.1', '192.168.0.0/16', '::1']);
  t.equal(config.refreshGrace, 30);
  t.equal(config.signingAlg, 'ES256');
  t.equal(config.passwordGrantEnabled, false);
});

test('the cookie calls trust the other loopback name of ISSUER in development only', async (t) => {
  const base = { KEY_ENCRYPTION_KEY: key(), GATEWAY_SECRET: key() };
  t.same(loadConfig({ ...base, ISSUER: 'http://127.0.0.1:9999/' }).trustedOrigins, ['http://127.0.0.1:9999', 'http://localhost:9999']);
  t.same(loadConfig({ ...base, NODE_ENV: 'test', ISSUER: 'http://localhost:8080' }).trustedOrigins, ['http://localhost:8080', 'http://127.0.0.1:8080']);
  t.same(loadConfig({ ...base, ISSUER: 'https://auth.example.com' }).trustedOrigins, ['https://auth.example.com'], 'no twin for a public name');
  const production = { ...base, NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r', SMTP_URL: 'smtp://mail:25', ISSUER: 'http://localhost:8080' };
  t.same(loadConfig(production).trustedOrigins, ['http://localhost:8080'], 'production trusts exactly ISSUER');
  t.same(loadConfig({ ...base, ALLOWED_ORIGINS: 'http://localhost:8080, https://app.example.com/' }).trustedOrigins, ['http://localhost:8080', 'http://127.0.0.1:8080', 'https://app.example.com'], 'deduplicated and normalised');
});
