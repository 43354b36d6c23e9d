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
import { coreSettings, loadSettings } from '@keygate/config';
import { openEmbeddedPglite } from '@keygate/db';
import { build as buildAuth } from '@keygate/auth';
import { loadConfig as loadAuthConfig } from '@keygate/auth/config';
import { build as buildGateway } from '@keygate/gateway';
import { loadConfig as loadGatewayConfig } from '@keygate/gateway/config';
import { build as buildOrders } from '@keygate/orders';
import { loadConfig as loadOrdersConfig } from '@keygate/orders/config';
import { build as buildNotifications } from '@keygate/notifications';
import { loadConfig as loadNotificationsConfig } from '@keygate/notifications/config';

export interface RunningStack {
  gatewayUrl: string;
  urls: { gateway: string; auth: string; orders: string; notifications: string };
  embeddedDatabase: boolean;
  embeddedBus: boolean;
  dataDir: string;
  bus: Bus;
  /** Gateway first, so no new request reaches services that are closing. */
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

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

export async function startStack(rawEnv: Env, warn: (message: string) => void = () => {}): Promise<RunningStack> {
  const env = withUpstreams(rawEnv);
  const core = loadSettings(coreSettings, env);
  // Auth sees every client through the gateway on this host: trust its X-Forwarded-For, or all
  // logins would share one per-IP rate-limit bucket and every session would show 127.0.0.1.
  const authConfig = loadAuthConfig({ ...env, TRUST_PROXY: env.TRUST_PROXY ?? '127.0.0.1' }, warn);
  const ordersConfig = loadOrdersConfig(env, warn);
  const notificationsConfig = loadNotificationsConfig(env, warn);
  const gatewayConfig = loadGatewayConfig(env, warn);

  const pglite: PGlite | undefined = core.databaseUrl ? undefined : await openEmbeddedPglite(core.dataDir);
  const bus = createBus({ redisUrl: core.redisUrl, keyPrefix: core.redisPrefix, onError: () => {} });
  const shared = { ...(pglite ? { pglite } : {}), bus };
  const started: FastifyInstance[] = [];
  const close = async () => {
    for (const app of [...started].reverse()) await app.close();
    await bus.close();
    if (pglite && !pglite.closed) await pglite.close();
  };
  try {
    // Auth first: the gateway loads its JWKS from it at start.
    const listen = async (app: FastifyInstance, port: number) => {
      started.push(app);
      await app.listen({ host: core.host, port });
    };
    await listen(await buildAuth(authConfig, shared), authConfig.port);
    await listen(await buildOrders(ordersConfig, shared), ordersConfig.port);
    await listen(await buildNotifications(notificationsConfig, shared), notificationsConfig.port);
    await listen(await buildGateway(gatewayConfig, { bus }), gatewayConfig.port);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  const url = (port: number) => `http://${core.host}:${port}`;
  return {
    gatewayUrl: url(gatewayConfig.port),
    urls: { gateway: url(gatewayConfig.port), auth: url(authConfig.port), orders: url(ordersConfig.port), notifications: url(notificationsConfig.port) },
    embeddedDatabase: pglite !== undefined,
    embeddedBus: core.redisUrl === undefined,
    dataDir: core.dataDir,
    bus,
    close,
  };
}
