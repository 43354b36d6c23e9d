/**
 * The orders app factory: never listens (main.ts does), so tests build it and use inject.
 * What every sample service has (database with its own schema `orders`, bus, gateway trust, the
 * shutdown order) is @keygate/sample-service's; here: the routes, the outbox relay, metrics.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { buildSampleApp, type SampleServiceDeps } from '@keygate/sample-service';
import type { OrdersConfig } from './config.js';
import { createOrdersMetrics } from './metrics.js';
import { startOutboxRelay } from './outbox-relay.js';
import { countPending } from './repositories/outbox.js';
import type { OrdersDatabase } from './repositories/tables.js';
import { orderRoutes } from './routes/orders.js';

export type OrdersDeps = SampleServiceDeps;

export async function build(config: OrdersConfig, deps: OrdersDeps = {}): Promise<FastifyInstance> {
  return buildSampleApp<OrdersDatabase>('orders', config, deps, async ({ app, db, bus, stopBeforeClose }) => {
    const metrics = createOrdersMetrics(app.metrics.registry, () => countPending(db));
    const relay = startOutboxRelay({
      db,
      bus,
      log: app.log.child({ component: 'outbox-relay' }),
      onRelayed: (count) => metrics.relayed.inc(count),
      onFailure: () => metrics.relayFailures.inc(),
    });
    stopBeforeClose(() => relay.stop());
    await app.withTypeProvider<TypeBoxTypeProvider>().register(orderRoutes, {
      db,
      onPlaced: () => {
        metrics.placed.inc();
        relay.wake();
      },
    });
  });
}
