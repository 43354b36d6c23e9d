/** The orders service's own metrics, on the app's registry (several apps may share a process). */
import { Counter, Gauge, type Registry } from 'prom-client';

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
    placed: new Counter({ name: 'orders_placed_total', help: 'Orders placed by this instance.', registers: [registry] }),
    relayed: new Counter({ name: 'orders_outbox_relayed_total', help: 'Outbox events this instance appended to the bus stream.', registers: [registry] }),
    relayFailures: new Counter({ name: 'orders_outbox_relay_failures_total', help: 'Relay rounds that failed (database or bus unavailable).', registers: [registry] }),
  };
}
