/** Process entry point: config from the environment, build, listen, drain on SIGTERM. */
import { exitOnStartupError, runService } from '@keygate/service-kit';
import { build } from './app.js';
import { loadConfig } from './config.js';

try {
  const config = loadConfig(process.env, (message) => process.stderr.write(`warning: ${message}\n`));
  const app = await build(config);
  await runService(app, {
    host: config.host,
    port: config.port,
    metricsHost: config.metricsHost,
    metricsPort: config.metricsPort,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    drainDelayMs: config.shutdownDrainDelayMs,
  });
} catch (error) {
  exitOnStartupError(error);
}
