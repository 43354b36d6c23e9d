/** The auth app factory: never listens (server.ts does), so tests build it and use inject. */
import type { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance } from 'fastify';
import { createDatabase, runMigrations } from '@keygate/db';
import { createServiceApp } from '@keygate/service-kit';
import type { AuthConfig } from './config.js';

export interface AuthDeps {
  /** A PGlite shared with the other services of an embedded single-process stack. */
  pglite?: PGlite;
}

export async function build(config: AuthConfig, deps: AuthDeps = {}): Promise<FastifyInstance> {
  const database = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pglite: deps.pglite });
  await runMigrations(database.db, ['auth']);
  const app = await createServiceApp({
    service: 'auth',
    logLevel: config.logLevel,
    trustRequestId: true,
    readiness: { database: () => database.ping() },
  });
  app.addHook('onClose', async () => database.close());
  return app;
}
