/** Fastify building blocks every service registers: errors, health, metrics, shutdown. */
export { createServiceApp, type ServiceAppOptions } from './create-app.js';
export { errorsPlugin } from './errors-plugin.js';
export { healthPlugin, type ReadinessCheck } from './health-plugin.js';
export { metricsPlugin } from './metrics-plugin.js';
export { openApiPlugin, type OpenApiOptions } from './openapi-plugin.js';
export { runService, exitOnStartupError, type RunOptions } from './run.js';
export { ErrorResponse, errorSchema } from './schemas.js';
