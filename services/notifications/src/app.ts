/** The notifications app factory: never listens (server.ts does), so tests build it and use inject. */
import type { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance } from 'fastify';
import { createDatabase, runMigrations } from '@keygate/db';
import { createServiceApp } from '@keygate/service-kit';
import type { NotificationsConfig } from './config.js';

export interface NotificationsDeps {
  /** A PGlite shared with the other services of an embedded single-process stack. */
  pglite?: PGlite;
}

export async function build(config: NotificationsConfig, deps: NotificationsDeps = {}): Promise<FastifyInstance> {
  const database = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pglite: deps.pglite });
  await runMigrations(database.db, ['notifications']);
  const app = await createServiceApp({
    service: 'notifications',
    logLevel: config.logLevel,
    trustRequestId: true,
    readiness: { database: () => database.ping() },
  });
  app.addHook('onClose', async () => database.close());
  return app;
}
