/** The notifications service's own metrics, on the app's registry (several apps may share a process). */
import { Counter, type Registry } from 'prom-client';

export interface NotificationsMetrics {
  consumed: Counter<'result'>;
  consumerFailures: Counter;
}

export function createNotificationsMetrics(registry: Registry): NotificationsMetrics {
  return {
    consumed: new Counter({
      name: 'notifications_events_consumed_total',
      help: 'Events read from the order-events stream, by outcome: created, duplicate (already stored) or invalid (skipped).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    consumerFailures: new Counter({ name: 'notifications_consumer_failures_total', help: 'Consumer rounds that failed (database or bus unavailable).', registers: [registry] }),
  };
}
