/**
 * The orders app factory: never listens (main.ts does), so tests build it and use inject.
 * Wiring only: database (own schema `orders`), bus (shared in the embedded stack, else its own),
 * gateway trust, routes, the outbox relay, metrics; and the order they shut down in.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { useServiceBus, type Bus } from '@keygate/bus';
import { createDatabase, runMigrations } from '@keygate/db';
import { gatewayTrust } from '@keygate/gateway-trust';
import { createServiceApp } from '@keygate/service-kit';
import type { OrdersConfig } from './config.js';
import { createOrdersMetrics } from './metrics.js';
import { startOutboxRelay, type OutboxRelay } from './outbox-relay.js';
import { countPending } from './repositories/outbox.js';
import type { OrdersDatabase } from './repositories/tables.js';
import { orderRoutes } from './routes/orders.js';

export interface OrdersDeps {
  /** A PGlite shared with the other services of an embedded single-process stack. */
  pglite?: PGlite;
  /** The bus shared with the other services of an embedded stack (or a test); never closed here. */
  bus?: Bus;
}

export async function build(config: OrdersConfig, deps: OrdersDeps = {}): Promise<FastifyInstance> {
  const database = await createDatabase<OrdersDatabase>({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pglite: deps.pglite });
  let reportBusError = (_error: Error): void => {};
  const { bus, release: releaseBus } = useServiceBus(deps.bus, { redisUrl: config.redisUrl, keyPrefix: config.redisPrefix, onError: (error) => reportBusError(error) });
  let relay: OutboxRelay | undefined;
  // After the server has drained: stop the relay first, then close what it used (only what we opened).
  const release = async (): Promise<void> => {
    await relay?.stop();
    await releaseBus();
    await database.close();
  };

  try {
    await runMigrations(database.db, ['orders']);
    const app = await createServiceApp({
      service: 'orders',
      logLevel: config.logLevel,
      trustRequestId: true,
      readiness: { database: () => database.ping(), bus: () => bus.ping() },
    });
    reportBusError = (err) => app.log.warn({ err }, 'bus connection error');
    app.addHook('onClose', release);

    const metrics = createOrdersMetrics(app.metrics.registry, () => countPending(database.db));
    const activeRelay = startOutboxRelay({
      db: database.db,
      bus,
      log: app.log.child({ component: 'outbox-relay' }),
      onRelayed: (count) => metrics.relayed.inc(count),
      onFailure: () => metrics.relayFailures.inc(),
    });
    relay = activeRelay;

    await app.register(gatewayTrust, { secret: config.gatewaySecret });
    await app.withTypeProvider<TypeBoxTypeProvider>().register(orderRoutes, {
      db: database.db,
      onPlaced: () => {
        metrics.placed.inc();
        activeRelay.wake();
      },
    });
    return app;
  } catch (error) {
    await release();
    throw error;
  }
}
