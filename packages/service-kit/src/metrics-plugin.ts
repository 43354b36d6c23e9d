/**
 * Prometheus metrics: a registry per app (several apps share one process in the embedded
 * stack and in tests), default process metrics, and a request latency histogram per route.
 * Services add their own metrics to `app.metrics.registry`. They are served only by the
 * operations listener (ops-listener.ts), which `build()` never opens: the run path does
 * (`app.metrics.listen`, see run.ts), and closing the app closes it.
 */
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createOpsListener, type OpsListener } from './ops-listener.js';

/** `app.metrics`: the registry services add to, and the operations listener (closed with the app). */
export interface AppMetrics extends Pick<OpsListener, 'listen' | 'url'> {
  registry: Registry;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

export const metricsPlugin = fp<{ service: string }>(
  async (app, options) => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: options.service });
    collectDefaultMetrics({ register: registry });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const listener = createOpsListener(registry, app.log);
    app.decorate('metrics', {
      registry,
      listen: (address: { host: string; port: number }) => listener.listen(address),
      get url() {
        return listener.url;
      },
    });
    app.addHook('onClose', async () => listener.close());
    app.addHook('onResponse', (request, reply, done) => {
      // The route pattern, never the raw URL, so ids do not explode the label set.
      const route = request.routeOptions.url ?? 'unmatched';
      if (route !== '/healthz' && route !== '/readyz') {
        duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
      }
      done();
    });
  },
  { name: 'keygate-metrics', fastify: '5.x' },
);

/**
 * A counter on a service's own registry (`app.metrics.registry`, never prom-client's global one):
 * one line per counter in each service's metrics.ts, e.g.
 * `counter(registry, 'orders_placed_total', 'Orders placed by this instance.')`.
 */
export function counter<Label extends string = string>(registry: Registry, name: string, help: string, labelNames: readonly Label[] = []): Counter<Label> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}
