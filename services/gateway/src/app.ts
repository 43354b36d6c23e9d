/** The gateway app factory: never listens (main.ts does), so tests build it and use inject. */
import type { FastifyInstance } from 'fastify';
import { createServiceApp } from '@keygate/service-kit';
import type { GatewayConfig } from './config.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface GatewayDeps {}

export async function build(config: GatewayConfig, _deps: GatewayDeps = {}): Promise<FastifyInstance> {
  const app = await createServiceApp({ service: 'gateway', logLevel: config.logLevel, readiness: {} });
  return app;
}
