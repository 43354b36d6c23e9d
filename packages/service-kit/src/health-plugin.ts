/**
 * GET /healthz (the process is alive) and GET /readyz (every dependency answers; 503 with
 * Retry-After otherwise). Readiness is re-checked on every call so a recovered database turns
 * it green again without a restart. `app.stopServing()` turns /readyz to 503 for good: the
 * instance is shutting down (runService on SIGTERM) and balancers that probe it should stop
 * routing to it while it still serves what they send meanwhile.
 */
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** From now on GET /readyz answers 503 `stopping`; every other route keeps working. */
    stopServing(): void;
  }
}

export type ReadinessCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(check: ReadinessCheck): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
    check().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

const statusSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

export const healthPlugin = fp<{ checks: Record<string, ReadinessCheck> }>(
  async (app, options) => {
    // Probes hit these every few seconds: log them only when something is wrong.
    const logLevel = app.log.level === 'silent' ? 'silent' : 'warn';
    let stopping = false;
    app.decorate('stopServing', () => {
      stopping = true;
    });
    app.get('/healthz', { schema: { hide: true, response: { 200: statusSchema } }, logLevel }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { hide: true, response: { 200: statusSchema, 503: statusSchema } }, logLevel }, async (request, reply) => {
      if (stopping) {
        // No Retry-After: this instance will not come back; the balancer should use another one.
        void reply.code(503);
        return { status: 'stopping', checks: {} };
      }
      const names = Object.keys(options.checks);
      const results = await Promise.allSettled(names.map((name) => withTimeout(options.checks[name]!)));
      const checks: Record<string, string> = {};
      let ready = true;
      results.forEach((result, index) => {
        const name = names[index]!;
        if (result.status === 'fulfilled') checks[name] = 'ok';
        else {
          ready = false;
          checks[name] = 'unavailable';
          request.log.warn({ check: name, reason: String(result.reason) }, 'readiness check failed');
        }
      });
      if (!ready) {
        void reply.code(503).header('retry-after', '5');
        return { status: 'unavailable', checks };
      }
      return { status: 'ready', checks };
    });
  },
  { name: 'keygate-health', fastify: '5.x' },
);
