/**
 * The gateway's settings: the shared core, its port and upstreams, the route table, trusted
 * proxies, token verification, rate limits, revocation behaviour while Redis is down, and
 * upstream timeouts. Invalid values stop start-up with a message naming the setting.
 */
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  gatewayUpstreams,
  int,
  list,
  loadServiceSettings,
  loadSettings,
  oneOf,
  optionalStr,
  requiredUrl,
  serviceSecret,
  serviceSettings,
  trustProxySetting,
  url,
  type Setting,
  type SettingsOf,
} from '@keygate/config';
import { CLOCK_SKEW_SECONDS, SIGNING_ALGS, isSigningAlg, type SigningAlg } from '@keygate/tokens';
import { defaultRoutes, parseRouteSpecs, resolveRoutes, type Route } from './route-table.js';

const httpUrl = { protocols: ['http:', 'https:'] } as const;

export const gatewaySettings = {
  ...serviceSettings('gateway'),
  /** Default: `${AUTH_URL}/.well-known/jwks.json`. */
  jwksUrl: url('JWKS_URL', httpUrl),
  /** The route table as JSON (wins over GATEWAY_ROUTES_FILE); default: the contract's routes. */
  routesJson: optionalStr('GATEWAY_ROUTES'),
  routesFile: optionalStr('GATEWAY_ROUTES_FILE'),
  /** Peers (IPs or CIDRs) whose X-Forwarded-For / -Proto / -Host are believed. */
  trustProxy: trustProxySetting(),
  rateLimitPublicPerIp: int('RATE_LIMIT_PUBLIC_PER_IP', { default: 300, min: 1, max: 1_000_000_000, unit: 'requests per minute' }),
  rateLimitUser: int('RATE_LIMIT_USER', { default: 600, min: 1, max: 1_000_000_000, unit: 'requests per minute' }),
  /** How often the gateway's rate-limit counts are shared through Redis; 0: a Redis round trip per request (exact). */
  rateLimitSyncMs: int('RATE_LIMIT_SYNC_MS', { default: 100, min: 0, max: 10_000, unit: 'milliseconds' }),
  /** serve: keep serving with revocation paused (readiness stays up, metric and logs say so); refuse: 503 on authenticated routes. */
  revocationWhenRedisDown: oneOf('REVOCATION_WHEN_REDIS_DOWN', ['serve', 'refuse'] as const, { default: 'serve' }),
  upstreamTimeoutMs: int('UPSTREAM_TIMEOUT_MS', { default: 30_000, min: 100, max: 600_000, unit: 'milliseconds' }),
  upstreamConnections: int('UPSTREAM_CONNECTIONS', { default: 128, min: 1, max: 10_000 }),
  tokenAlgorithms: list('TOKEN_ALGORITHMS', {
    default: ['RS256'],
    check(item) {
      if (!isSigningAlg(item)) throw new Error(`"${item}" is not one of ${SIGNING_ALGS.join(', ')}`);
    },
  }),
  clockSkewSec: int('CLOCK_SKEW_SEC', { default: CLOCK_SKEW_SECONDS, min: 0, max: CLOCK_SKEW_SECONDS, unit: 'seconds' }),
  tokenMaxLength: int('TOKEN_MAX_LENGTH', { default: 8192, min: 512, max: 65_536, unit: 'characters' }),
  tokenCacheSize: int('TOKEN_CACHE_SIZE', { default: 20_000, min: 0, max: 1_000_000 }),
  jwksRefetchCooldownMs: int('JWKS_REFETCH_COOLDOWN_MS', { default: 10_000, min: 0, max: 3_600_000, unit: 'milliseconds' }),
  jwksRefreshIntervalMs: int('JWKS_REFRESH_INTERVAL_MS', { default: 300_000, min: 1_000, max: 86_400_000, unit: 'milliseconds' }),
  /** Largest request body announced by Content-Length that is forwarded (413 above). */
  bodyLimit: int('GATEWAY_BODY_LIMIT', { default: 1_048_576, min: 1_024, max: 1_073_741_824, unit: 'bytes' }),
} as const;

/**
 * Each service behind the gateway by name, from its *_URL setting (AUTH_URL, ORDERS_URL, …): one
 * per services-manifest entry with routes, defaulting to that service's port on this host.
 */
export const upstreamSettings: Readonly<Record<string, Setting<string>>> = Object.fromEntries(
  gatewayUpstreams().map((service) => [service.name, requiredUrl(service.upstreamSetting, { ...httpUrl, default: `http://127.0.0.1:${service.port}` })]),
);

type Settings = SettingsOf<typeof gatewaySettings>;

export type GatewayConfig = Omit<Settings, 'gatewaySecret' | 'jwksUrl' | 'tokenAlgorithms' | 'routesJson' | 'routesFile'> & {
  gatewaySecret: Buffer;
  /** Origin of each upstream by service name (the route table's named upstreams). */
  upstreams: Readonly<Record<string, string>>;
  /** The auth upstream: JWKS and the revocation catch-up come from it. */
  authUrl: string;
  jwksUrl: string;
  tokenAlgorithms: readonly SigningAlg[];
  routes: readonly Route[];
};

function loadRoutes(settings: Settings, upstreams: Readonly<Record<string, string>>): Route[] {
  let source = 'GATEWAY_ROUTES';
  let specs = defaultRoutes();
  try {
    if (settings.routesJson !== undefined) {
      specs = parseRouteSpecs(JSON.parse(settings.routesJson));
    } else if (settings.routesFile !== undefined) {
      source = 'GATEWAY_ROUTES_FILE';
      specs = parseRouteSpecs(JSON.parse(readFileSync(settings.routesFile, 'utf8')));
    }
    return resolveRoutes(specs, upstreams);
  } catch (error) {
    throw new ConfigError(source, error instanceof Error ? error.message : String(error));
  }
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>, warn: (message: string) => void = () => {}): GatewayConfig {
  const settings = loadServiceSettings(gatewaySettings, env, { needsDatabase: false });
  const gatewaySecret = serviceSecret(settings, 'GATEWAY_SECRET', settings.gatewaySecret, warn);
  const upstreams = loadSettings(upstreamSettings, env);
  const authUrl = upstreams.auth;
  if (authUrl === undefined) throw new ConfigError('AUTH_URL', 'the services manifest has no auth service to take it from');
  const { routesJson: _json, routesFile: _file, ...rest } = settings;
  return Object.freeze({
    ...rest,
    gatewaySecret,
    upstreams,
    authUrl,
    jwksUrl: settings.jwksUrl ?? `${authUrl.replace(/\/+$/, '')}/.well-known/jwks.json`,
    tokenAlgorithms: settings.tokenAlgorithms as readonly SigningAlg[],
    routes: Object.freeze(loadRoutes(settings, upstreams)),
  });
}
