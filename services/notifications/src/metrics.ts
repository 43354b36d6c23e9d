/** The notifications service's own metrics, on the app's registry (several apps may share a process). */
import type { Counter, Registry } from 'prom-client';
import { counter } from '@keygate/service-kit';

export interface NotificationsMetrics {
  consumed: Counter<'result'>;
  consumerFailures: Counter;
}

export function createNotificationsMetrics(registry: Registry): NotificationsMetrics {
  return {
    consumed: counter(
      registry,
      'notifications_events_consumed_total',
      'Events read from the order-events stream, by outcome: created, duplicate (already stored) or invalid (skipped).',
      ['result'],
    ),
    consumerFailures: counter(registry, 'notifications_consumer_failures_total', 'Consumer rounds that failed (database or bus unavailable).'),
  };
}
