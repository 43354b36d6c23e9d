/**
 * A sample service's app: never listens (its main.ts does), so tests build it and use inject. It
 * opens the database (migrating the service's own schema) and the bus (shared in the embedded
 * stack, else its own), creates the service-kit app with readiness on both, verifies the gateway's
 * proof on every request, then lets the service add its metrics, workers and routes. Shutdown,
 * after the server has drained: the service's workers first, then the bus and the database (only
 * what it opened).
 */
import type { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { useServiceBus, type Bus } from '@keygate/bus';
import type { SampleServiceConfig } from '@keygate/config';
import { createDatabase, runMigrations } from '@keygate/db';
import { gatewayTrust } from '@keygate/gateway-trust';
import { createServiceApp } from '@keygate/service-kit';

export interface SampleServiceDeps {
  /** A PGlite shared with the other services of an embedded single-process stack. */
  pglite?: PGlite;
  /** The bus shared with the other services of an embedded stack (or a test); never closed here. */
  bus?: Bus;
}

export interface SampleServiceParts<DB> {
  app: FastifyInstance;
  db: Kysely<DB>;
  bus: Bus;
  /** Registers a worker's stop: run before the bus and the database close (in registration order). */
  stopBeforeClose(stop: () => Promise<void>): void;
}

/**
 * Builds the app of the sample service `name` (its migrations are migrations/<name>/); `setup`
 * adds what is the service's own. A failure anywhere closes what was opened.
 */
export async function buildSampleApp<DB>(
  name: string,
  config: SampleServiceConfig,
  deps: SampleServiceDeps,
  setup: (parts: SampleServiceParts<DB>) => Promise<void>,
): Promise<FastifyInstance> {
  const database = await createDatabase<DB>({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, pglite: deps.pglite });
  let reportBusError = (_error: Error): void => {};
  const { bus, release: releaseBus } = useServiceBus(deps.bus, { redisUrl: config.redisUrl, keyPrefix: config.redisPrefix, onError: (error) => reportBusError(error) });
  const stops: (() => Promise<void>)[] = [];
  const release = async (): Promise<void> => {
    for (const stop of stops) await stop();
    await releaseBus();
    await database.close();
  };

  try {
    await runMigrations(database.db, [name]);
    const app = await createServiceApp({
      service: name,
      logLevel: config.logLevel,
      trustRequestId: true,
      readiness: { database: () => database.ping(), bus: () => bus.ping() },
    });
    reportBusError = (err) => app.log.warn({ err }, 'bus connection error');
    app.addHook('onClose', release);
    await app.register(gatewayTrust, { secret: config.gatewaySecret });
    await setup({ app, db: database.db, bus, stopBeforeClose: (stop) => stops.push(stop) });
    return app;
  } catch (error) {
    await release();
    throw error;
  }
}
