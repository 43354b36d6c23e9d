/** Fastify building blocks every service registers: errors, health, metrics (on the operations listener), shutdown. */
export { createServiceApp, type ServiceAppOptions } from './create-app.js';
export { errorsPlugin } from './errors-plugin.js';
export { healthPlugin, type ReadinessCheck } from './health-plugin.js';
export { counter, metricsPlugin, type AppMetrics } from './metrics-plugin.js';
export { openApiPlugin, type OpenApiOptions } from './openapi-plugin.js';
export { runService, runServiceProcess, listenService, exitOnStartupError, type RunOptions, type ListenOptions, type ServiceProcessConfig } from './run.js';
export { ErrorResponse, errorSchema } from './schemas.js';
export {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_KEY_RULE,
  IDEMPOTENT_REPLAYED_HEADER,
  isIdempotencyKey,
  parseIdempotencyKey,
  idempotencyKeyOf,
} from './idempotency-key.js';
