/** Process entry point: config from the environment, build, listen, drain on SIGTERM. */
import { runServiceProcess } from '@keygate/service-kit';
import { build } from './app.js';
import { loadConfig } from './config.js';

await runServiceProcess(process.env, loadConfig, build);
