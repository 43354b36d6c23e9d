/**
 * Prometheus metrics: a registry per app (several apps share one process in the embedded
 * stack and in tests), default process metrics, a request latency histogram per route, and
 * GET /metrics. Services add their own metrics to `app.metrics.registry`.
 */
import fp from 'fastify-plugin';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { registry: Registry };
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
    app.decorate('metrics', { registry });
    app.addHook('onResponse', (request, reply, done) => {
      // The route pattern, never the raw URL, so ids do not explode the label set.
      const route = request.routeOptions.url ?? 'unmatched';
      if (route !== '/metrics' && route !== '/healthz' && route !== '/readyz') {
        duration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
      }
      done();
    });
    const logLevel = app.log.level === 'silent' ? 'silent' : 'warn';
    app.get('/metrics', { schema: { hide: true } as Record<string, unknown>, logLevel }, async (_request, reply) => {
      void reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'keygate-metrics', fastify: '5.x' },
);
