/**
 * The whole product in one Node process on the embedded defaults — one PGlite under DATA_DIR and
 * one in-process bus shared by the four services (PGlite allows a single process per data
 * directory, and the in-memory bus only reaches services in the same process). With
 * DATABASE_URL / REDIS_URL set it uses those instead. Used by `pnpm start` and by the end-to-end
 * and browser tests; production runs each service as its own process.
 */
import type { FastifyInstance } from 'fastify';
import type { PGlite } from '@electric-sql/pglite';
import { createBus, type Bus } from '@keygate/bus';
import { ConfigError, coreSettings, loadSettings } from '@keygate/config';
import { openEmbeddedPglite } from '@keygate/db';
import { build as buildAuth } from '@keygate/auth';
import { loadConfig as loadAuthConfig } from '@keygate/auth/config';
import { build as buildGateway } from '@keygate/gateway';
import { loadConfig as loadGatewayConfig } from '@keygate/gateway/config';
import { build as buildOrders } from '@keygate/orders';
import { loadConfig as loadOrdersConfig } from '@keygate/orders/config';
import { build as buildNotifications } from '@keygate/notifications';
import { loadConfig as loadNotificationsConfig } from '@keygate/notifications/config';
import { listenService } from '@keygate/service-kit';

export interface RunningStack {
  gatewayUrl: string;
  urls: ServiceUrls;
  /** Each service's operations listener (GET /metrics). */
  metricsUrls: ServiceUrls;
  embeddedDatabase: boolean;
  embeddedBus: boolean;
  dataDir: string;
  bus: Bus;
  /** Gateway first, so no new request reaches services that are closing. */
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;
type ServiceName = 'gateway' | 'auth' | 'orders' | 'notifications';
type ServiceUrls = Record<ServiceName, string>;

/** Upstream URLs follow the chosen ports unless set explicitly. */
function withUpstreams(env: Env): Env {
  const host = env.HOST?.trim() || '127.0.0.1';
  const at = (port: string | undefined, fallback: number) => `http://${host}:${port?.trim() || fallback}`;
  return {
    ...env,
    AUTH_URL: env.AUTH_URL ?? at(env.AUTH_PORT, 8081),
    ORDERS_URL: env.ORDERS_URL ?? at(env.ORDERS_PORT, 8082),
    NOTIFICATIONS_URL: env.NOTIFICATIONS_URL ?? at(env.NOTIFICATIONS_PORT, 8083),
  };
}

/**
 * METRICS_PORT names one service's operations port, and this process runs four: each takes its
 * own from <SERVICE>_METRICS_PORT (default: the service's own, 9080-9083). METRICS_PORT=0 (a free
 * port for each, as in tests) is the one value that means the same for all four.
 */
function withMetricsPort(env: Env, service: ServiceName): Env {
  const shared = env.METRICS_PORT?.trim();
  if (shared !== undefined && shared !== '' && shared !== '0') {
    throw new ConfigError('METRICS_PORT', 'is one service\'s port and pnpm start runs four: set GATEWAY_METRICS_PORT, AUTH_METRICS_PORT, ORDERS_METRICS_PORT or NOTIFICATIONS_METRICS_PORT instead');
  }
  const own = env[`${service.toUpperCase()}_METRICS_PORT`];
  return own === undefined ? env : { ...env, METRICS_PORT: own };
}

export async function startStack(rawEnv: Env, warn: (message: string) => void = () => {}): Promise<RunningStack> {
  const env = withUpstreams(rawEnv);
  const core = loadSettings(coreSettings, env);
  // Auth sees every client through the gateway on this host: trust its X-Forwarded-For, or all
  // logins would share one per-IP rate-limit bucket and every session would show 127.0.0.1.
  const authConfig = loadAuthConfig({ ...withMetricsPort(env, 'auth'), TRUST_PROXY: env.TRUST_PROXY ?? '127.0.0.1' }, warn);
  const ordersConfig = loadOrdersConfig(withMetricsPort(env, 'orders'), warn);
  const notificationsConfig = loadNotificationsConfig(withMetricsPort(env, 'notifications'), warn);
  const gatewayConfig = loadGatewayConfig(withMetricsPort(env, 'gateway'), warn);

  const pglite: PGlite | undefined = core.databaseUrl ? undefined : await openEmbeddedPglite(core.dataDir);
  const bus = createBus({ redisUrl: core.redisUrl, keyPrefix: core.redisPrefix, onError: () => {} });
  const shared = { ...(pglite ? { pglite } : {}), bus };
  const started: FastifyInstance[] = [];
  const close = async () => {
    for (const app of [...started].reverse()) await app.close();
    await bus.close();
    if (pglite && !pglite.closed) await pglite.close();
  };
  const urls = {} as ServiceUrls;
  const metricsUrls = {} as ServiceUrls;
  try {
    // Auth first: the gateway loads its JWKS from it at start.
    const listen = async (service: ServiceName, app: FastifyInstance, config: { port: number; metricsHost: string; metricsPort: number }) => {
      started.push(app);
      const opened = await listenService(app, { host: core.host, port: config.port, metricsHost: config.metricsHost, metricsPort: config.metricsPort });
      urls[service] = `http://${core.host}:${new URL(opened.url).port}`;
      metricsUrls[service] = opened.metricsUrl;
    };
    await listen('auth', await buildAuth(authConfig, shared), authConfig);
    await listen('orders', await buildOrders(ordersConfig, shared), ordersConfig);
    await listen('notifications', await buildNotifications(notificationsConfig, shared), notificationsConfig);
    await listen('gateway', await buildGateway(gatewayConfig, { bus }), gatewayConfig);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return {
    gatewayUrl: urls.gateway,
    urls,
    metricsUrls,
    embeddedDatabase: pglite !== undefined,
    embeddedBus: core.redisUrl === undefined,
    dataDir: core.dataDir,
    bus,
    close,
  };
}
