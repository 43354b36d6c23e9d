/**
 * The notifications app factory: never listens (main.ts does), so tests build it and use inject.
 * What every sample service has (database with its own schema `notifications`, bus, gateway trust,
 * the shutdown order) is @keygate/sample-service's; here: the routes, the event consumer, metrics.
 */
import { hostname } from 'node:os';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { buildSampleApp, type SampleServiceDeps } from '@keygate/sample-service';
import type { NotificationsConfig } from './config.js';
import { startEventConsumer } from './event-consumer.js';
import { createNotificationsMetrics } from './metrics.js';
import type { NotificationsDatabase } from './repositories/tables.js';
import { notificationRoutes } from './routes/notifications.js';

export type NotificationsDeps = SampleServiceDeps;

/** Stable across restarts of the same instance, so entries it read but never acknowledged come back to it. */
function consumerName(config: NotificationsConfig): string {
  return config.instanceName ?? `${hostname()}:${config.port}`;
}

export async function build(config: NotificationsConfig, deps: NotificationsDeps = {}): Promise<FastifyInstance> {
  return buildSampleApp<NotificationsDatabase>('notifications', config, deps, async ({ app, db, bus, stopBeforeClose }) => {
    const metrics = createNotificationsMetrics(app.metrics.registry);
    const consumer = startEventConsumer({
      db,
      bus,
      consumerName: consumerName(config),
      log: app.log.child({ component: 'event-consumer' }),
      onConsumed: (result, count) => metrics.consumed.inc({ result }, count),
      onFailure: () => metrics.consumerFailures.inc(),
    });
    stopBeforeClose(() => consumer.stop());
    await app.withTypeProvider<TypeBoxTypeProvider>().register(notificationRoutes, { db });
  });
}
