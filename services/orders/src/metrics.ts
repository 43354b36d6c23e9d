/** The orders service's own metrics, on the app's registry (several apps may share a process). */
import { Gauge, type Counter, type Registry } from 'prom-client';
import { counter } from '@keygate/service-kit';

export interface OrdersMetrics {
  placed: Counter;
  relayed: Counter;
  relayFailures: Counter;
}

export function createOrdersMetrics(registry: Registry, countBacklog: () => Promise<number>): OrdersMetrics {
  new Gauge({
    name: 'orders_outbox_backlog',
    help: 'Order events committed to the outbox but not yet on the bus stream.',
    registers: [registry],
    async collect() {
      try {
        this.set(await countBacklog());
      } catch {
        // Database down: keep the last value; /readyz reports the outage.
      }
    },
  });
  return {
    placed: counter(registry, 'orders_placed_total', 'Orders placed by this instance.'),
    relayed: counter(registry, 'orders_outbox_relayed_total', 'Outbox events this instance appended to the bus stream.'),
    relayFailures: counter(registry, 'orders_outbox_relay_failures_total', 'Relay rounds that failed (database or bus unavailable).'),
  };
}
