/**
 * Test helpers: play the gateway (sign proofs), and run orders and notifications the way the
 * embedded stack does: two separately built apps on one database (two schemas) and one bus
 * (real PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, else a shared PGlite and memory bus).
 */
import type { FastifyInstance } from 'fastify';
import type { Bus } from '@keygate/bus';
import { createDatabase, type DatabaseHandle } from '@keygate/db';
import { build as buildOrders } from '@keygate/orders';
import { loadConfig as loadOrdersConfig, type OrdersConfig } from '@keygate/orders/config';
import { sharedStores } from '@keygate/sample-service/test-helpers';
import { createTestEnvironment } from '@keygate/testing';
import { build as buildNotifications } from '../src/app.js';
import { loadConfig as loadNotificationsConfig, type NotificationsConfig } from '../src/config.js';

// The gateway-playing, polling and process helpers every sample service's tests share.
export * from '@keygate/sample-service/test-helpers';

type Teardown = { teardown(fn: () => unknown): void };

export interface Chain {
  ordersConfig: OrdersConfig;
  notificationsConfig: NotificationsConfig;
  /** Shared by every app built here, as in the embedded stack. */
  bus: Bus;
  /** The one database both services use (each in its own schema), for inspection. */
  database: DatabaseHandle;
  /** A new orders instance; closed at the end of the test. */
  orders(): Promise<FastifyInstance>;
  /** A new notifications instance (on `bus` if given); closed at the end of the test (closing it earlier is fine). */
  notifications(bus?: Bus): Promise<FastifyInstance>;
}

export async function createChain(t: Teardown, overrides: Record<string, string> = {}): Promise<Chain> {
  const { env, cleanup } = await createTestEnvironment(overrides);
  t.teardown(cleanup);
  const ordersConfig = loadOrdersConfig(env);
  const notificationsConfig = loadNotificationsConfig(env);
  const { bus, pglite } = await sharedStores(t, notificationsConfig);
  const database = await createDatabase({ databaseUrl: notificationsConfig.databaseUrl, pglite });
  t.teardown(() => database.close());
  const deps = { bus, ...(pglite ? { pglite } : {}) };
  const track = (app: FastifyInstance): FastifyInstance => {
    t.teardown(() => app.close());
    return app;
  };
  return {
    ordersConfig,
    notificationsConfig,
    bus,
    database,
    orders: async () => track(await buildOrders(ordersConfig, deps)),
    notifications: async (other?: Bus) => track(await buildNotifications(notificationsConfig, { ...deps, bus: other ?? bus })),
  };
}
