/**
 * The notifications app factory: never listens (main.ts does), so tests build it and use inject.
 * Wiring only: database (own schema `notifications`), bus (shared in the embedded stack, else its
 * own), gateway trust, routes, the event consumer, metrics; and the order they shut down in.
 */
import { hostname } from 'node:os';
import type { PGlite } from '@electric-sql/pglite';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { useServiceBus, type Bus } from '@keygate/bus';
import { createDatabase, runMigrations } from '@keygate/db';
import { gatewayTrust } from '@keygate/gateway-trust';
import { createServiceApp } from '@keygate/service-kit';
import type { NotificationsConfig } from './config.js';
import { startEventConsumer, type EventConsumer } from './event-consumer.js';
import { createNotificationsMetrics } from './metrics.js';
import type { NotificationsDatabase } from './repositories/tables.js';
import { notificationRoutes } from './routes/notifications.js';

export interface NotificationsDeps {
  /** A PGlite shared with the other services of an embedded single-process stack. */
  pglite?: PGlite;
  /** The bus shared with the other services of an embedded stack (or a test); never closed here. */
  bus?: Bus;
}

/** Stable across restarts of the same instance, so entries it read but never acknowledged come back to it. */
function consumerName(config: NotificationsConfig): string {
  return config.instanceName ?? `${hostname()}:${config.port}`;
}

export async function build(config: NotificationsConfig, deps: NotificationsDeps = {}): Promise<FastifyInstance> {
  const database = await createDatabase<NotificationsDatabase>({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pglite: deps.pglite });
  let reportBusError = (_error: Error): void => {};
  const { bus, release: releaseBus } = useServiceBus(deps.bus, { redisUrl: config.redisUrl, keyPrefix: config.redisPrefix, onError: (error) => reportBusError(error) });
  let consumer: EventConsumer | undefined;
  // After the server has drained: stop the consumer first, then close what it used (only what we opened).
  const release = async (): Promise<void> => {
    await consumer?.stop();
    await releaseBus();
    await database.close();
  };

  try {
    await runMigrations(database.db, ['notifications']);
    const app = await createServiceApp({
      service: 'notifications',
      logLevel: config.logLevel,
      trustRequestId: true,
      readiness: { database: () => database.ping(), bus: () => bus.ping() },
    });
    reportBusError = (err) => app.log.warn({ err }, 'bus connection error');
    app.addHook('onClose', release);

    const metrics = createNotificationsMetrics(app.metrics.registry);
    consumer = startEventConsumer({
      db: database.db,
      bus,
      consumerName: consumerName(config),
      log: app.log.child({ component: 'event-consumer' }),
      onConsumed: (result, count) => metrics.consumed.inc({ result }, count),
      onFailure: () => metrics.consumerFailures.inc(),
    });

    await app.register(gatewayTrust, { secret: config.gatewaySecret });
    await app.withTypeProvider<TypeBoxTypeProvider>().register(notificationRoutes, { db: database.db });
    return app;
  } catch (error) {
    await release();
    throw error;
  }
}
