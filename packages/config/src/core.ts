/**
 * Settings every service shares, and the rules that tie them together (production refuses the
 * embedded defaults; embedded mode generates missing secrets into DATA_DIR with a warning).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { isSentinelUrl, parseSentinelUrl } from './redis-url.js';
import { ConfigError, base64Key, host, int, list, oneOf, optionalStr, str, url, type Setting, type SettingsOf } from './settings.js';

const PROXY_KEYWORDS = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY: the peers (IP addresses, CIDR ranges, or fastify's loopback / linklocal /
 * uniquelocal) whose X-Forwarded-For is believed. Shared by the gateway (its load balancer) and the
 * auth service (the gateway).
 */
export function trustProxySetting(): Setting<readonly string[]> {
  return list('TRUST_PROXY', {
    check(item) {
      if (PROXY_KEYWORDS.includes(item)) return;
      const [address, bits, extra] = item.split('/');
      const family = isIP(address ?? '');
      const bitsOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
      if (family === 0 || !bitsOk || extra !== undefined) throw new Error(`"${item}" is not an IP address, CIDR range, loopback, linklocal or uniquelocal`);
    },
  });
}

/** REDIS_URL: redis:// or rediss://, or redis+sentinel:// naming the sentinels (see redis-url.ts). */
function redisUrlSetting(): Setting<string | undefined> {
  const plain = url('REDIS_URL', { protocols: ['redis:', 'rediss:'], secret: true });
  return {
    ...plain,
    parse(raw) {
      if (raw !== undefined && isSentinelUrl(raw)) {
        parseSentinelUrl(raw);
        return raw.trim();
      }
      return plain.parse(raw);
    },
  };
}

export const coreSettings = {
  nodeEnv: oneOf('NODE_ENV', ['development', 'production', 'test'] as const, { default: 'development' }),
  logLevel: oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { default: 'info' }),
  host: str('HOST', { default: '127.0.0.1' }),
  dataDir: str('DATA_DIR', { default: './.data' }),
  databaseUrl: url('DATABASE_URL', { protocols: ['postgres:', 'postgresql:'], secret: true, hostList: true }),
  redisUrl: redisUrlSetting(),
  /** Prefixes every Redis key and channel, so several deployments (or test runs) can share one Redis. */
  redisPrefix: str('REDIS_PREFIX', { default: 'keygate:', pattern: /^[A-Za-z0-9:_.-]{0,64}$/, hint: 'must be up to 64 letters, digits or : _ . -' }),
  issuer: str('ISSUER', { default: 'http://localhost:8080', pattern: /^https?:\/\/[^\s]+$/, hint: 'must be an http(s) URL' }),
  audience: str('AUDIENCE', { default: 'api' }),
  gatewaySecret: base64Key('GATEWAY_SECRET', { bytes: 32 }),
  shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', { default: 10_000, min: 100, max: 120_000, unit: 'milliseconds' }),
  /** After SIGTERM: /readyz 503 but still serving this long before the listener closes (what a k8s preStop sleep does). */
  shutdownDrainDelayMs: int('SHUTDOWN_DRAIN_DELAY_MS', { default: 0, min: 0, max: 120_000, unit: 'milliseconds' }),
  instanceName: optionalStr('INSTANCE_NAME'),
} as const;

export type CoreConfig = SettingsOf<typeof coreSettings>;

/**
 * The operations listener (GET /metrics): METRICS_HOST defaults to loopback so metrics are never
 * public by accident; containers set 0.0.0.0 and keep the port off the public network instead.
 * METRICS_PORT 0 takes a free port (tests).
 */
export function metricsListenerSettings(defaultPort: number) {
  return {
    metricsHost: host('METRICS_HOST', { default: '127.0.0.1' }),
    metricsPort: int('METRICS_PORT', { default: defaultPort, min: 0, max: 65_535 }),
  } as const;
}

/** On the public port, /metrics would be public again (or start-up would fail with EADDRINUSE). */
export function assertSeparateMetricsPort(settings: { port: number; metricsPort: number }, portEnv: string): void {
  if (settings.metricsPort !== 0 && settings.metricsPort === settings.port) {
    throw new ConfigError('METRICS_PORT', `must differ from ${portEnv} (${settings.port}): /metrics is only served on the operations listener`);
  }
}

/** True when the service runs without real PostgreSQL/Redis (single-process development). */
export function isEmbedded(config: Pick<CoreConfig, 'databaseUrl' | 'redisUrl'>): boolean {
  return config.databaseUrl === undefined || config.redisUrl === undefined;
}

/**
 * `NODE_ENV=production` must never run on PGlite, the in-process bus or generated secrets:
 * each would silently break as soon as a second instance starts.
 */
export function assertProductionReady(
  config: Pick<CoreConfig, 'nodeEnv' | 'databaseUrl' | 'redisUrl'>,
  requiredSecrets: Record<string, unknown>,
  options: { needsDatabase?: boolean } = {},
): void {
  if (config.nodeEnv !== 'production') return;
  if ((options.needsDatabase ?? true) && config.databaseUrl === undefined) throw new ConfigError('DATABASE_URL', 'is required when NODE_ENV=production (embedded PGlite is for development only)');
  if (config.redisUrl === undefined) throw new ConfigError('REDIS_URL', 'is required when NODE_ENV=production (the in-process bus is for development only)');
  for (const [env, value] of Object.entries(requiredSecrets)) {
    if (value === undefined) throw new ConfigError(env, 'is required when NODE_ENV=production');
  }
}

/**
 * Returns `configured` if set; otherwise, outside production, reads or creates a random secret
 * in DATA_DIR/secrets so restarts of a development stack keep their keys.
 */
export function embeddedSecret(
  configured: Buffer | undefined,
  options: { env: string; dataDir: string; bytes: number; nodeEnv: string; warn: (message: string) => void },
): Buffer {
  if (configured) return configured;
  if (options.nodeEnv === 'production') throw new ConfigError(options.env, 'is required when NODE_ENV=production');
  const dir = join(options.dataDir, 'secrets');
  const file = join(dir, options.env.toLowerCase());
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length === options.bytes) return key;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(options.bytes);
  // Write-then-rename so two processes starting together never read a half-written key.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, key.toString('base64'), { mode: 0o600 });
  if (!existsSync(file)) renameSync(temp, file);
  const stored = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  options.warn(`${options.env} is not set: using a generated development key in ${file}. Set it explicitly in production.`);
  return stored;
}
