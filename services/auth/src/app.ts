/**
 * The auth app factory: never listens (main.ts does), so tests build it and use inject or listen
 * on 127.0.0.1:0. Opens (or takes) the database and the bus, migrates, loads the signing keys
 * (creating the first one if needed), creates the first admin, and registers the routes.
 */
import type { PGlite } from '@electric-sql/pglite';
import cookie from '@fastify/cookie';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { useServiceBus, type Bus } from '@keygate/bus';
import { createDatabase, runMigrations } from '@keygate/db';
import { createServiceApp } from '@keygate/service-kit';
import type { AuthConfig } from './config.js';
import type { AuthContext } from './context.js';
import { createPasswordHasher } from './accounts/passwords.js';
import { bootstrapAdmin } from './accounts/service.js';
import { KeyStore } from './keys/key-store.js';
import { createAuthMetrics, registerPasswordHashGauges } from './metrics.js';
import { oauthPlugin } from './oauth/plugin.js';
import { createAuthLimiters } from './sessions/login-limiter.js';
import { noStoreOnAccountPaths } from './http/no-store.js';
import { purgeAuthorizationCodes } from './oauth/authorization-codes.repository.js';
import { purgeSealedSuccessors } from './sessions/refresh-tokens.repository.js';
import type { AuthDatabase } from './db/schema.js';
import { accountRoutes } from './accounts/routes.js';
import { adminRoutes } from './admin/routes.js';
import { internalRoutes } from './internal/routes.js';
import { sessionRoutes } from './sessions/routes.js';
import { wellKnownRoutes } from './keys/jwks-routes.js';
import { RevocationResync } from './revocations/resync.js';

export interface AuthDeps {
  /** A PGlite shared with the other services of an embedded single-process stack. */
  pglite?: PGlite;
  /** A bus shared with the other services (the memory bus must be shared to be seen). */
  bus?: Bus;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The auth domain context (database, bus, keys): for tests and in-process tooling. */
    authContext: AuthContext;
  }
}

/** How often sealed grace-window successors are wiped once their window is over. */
const SEALED_PURGE_MS = 60_000;
/**
 * Used or expired authorization codes are kept this long after expiry, so a replay within that
 * time still finds the code and revokes the session it created (an access token lives at most
 * ACCESS_TOKEN_TTL; the refresh token far longer, hence a day).
 */
const CODE_KEEP_SECONDS = 86_400;

export async function build(config: AuthConfig, deps: AuthDeps = {}): Promise<FastifyInstance> {
  // Errors from the pool and the bus arrive before the app (and its logger) exists, or between requests.
  let log: FastifyBaseLogger | undefined;
  const database = await createDatabase<AuthDatabase>({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    pglite: deps.pglite,
    onPoolError: (err) => log?.error({ err }, 'database pool error'),
  });
  const { bus, release: releaseBus } = useServiceBus(deps.bus, { redisUrl: config.redisUrl, keyPrefix: config.redisPrefix, onError: (err) => log?.error({ err }, 'bus error') });
  let app: FastifyInstance | undefined;
  try {
    await runMigrations(database.db, ['auth']);
    app = await createServiceApp({
      service: 'auth',
      logLevel: config.logLevel,
      trustRequestId: true,
      trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
      // Redis is not a readiness dependency: without it login and refresh keep working (rate
      // limits count per instance, revocations are re-announced from PostgreSQL once it is back),
      // and failing readiness on every auth instance at once would turn a Redis outage into a
      // login outage.
      readiness: { database: () => database.ping() },
    });
    log = app.log;
    const db = database.db as Kysely<AuthDatabase>;
    const keys = new KeyStore(db, config, app.log, bus);
    const metrics = createAuthMetrics(app.metrics.registry);
    const passwords = createPasswordHasher({
      concurrency: config.passwordHashConcurrency,
      queueMax: config.passwordHashQueueMax,
      onRejected: () => metrics.passwordHashesRejected.inc(),
    });
    registerPasswordHashGauges(app.metrics.registry, passwords);
    const ctx: AuthContext = { config, db, bus, keys, log: app.log, metrics, passwords };
    app.decorate('authContext', ctx);
    const revocationResync = new RevocationResync(ctx);
    ctx.revocationResync = revocationResync;
    const purge = setInterval(() => {
      purgeSealedSuccessors(db, config.refreshGrace).catch((err: unknown) => ctx.log.error({ err }, 'purging sealed refresh successors failed'));
      purgeAuthorizationCodes(db, CODE_KEEP_SECONDS).catch((err: unknown) => ctx.log.error({ err }, 'purging authorization codes failed'));
    }, SEALED_PURGE_MS);
    purge.unref();
    app.addHook('onClose', async () => {
      keys.stop();
      clearInterval(purge);
      await revocationResync.stop();
      await releaseBus();
      await database.close();
    });

    await keys.start();
    // Made now so the first login for an unknown email costs one verification, like every other.
    await passwords.dummyHash();
    if (config.adminEmail !== undefined && config.adminPassword !== undefined) await bootstrapAdmin(ctx, config.adminEmail, config.adminPassword);

    // JSON only: a text/plain body is 415, not a string the schema then rejects.
    app.removeContentTypeParser('text/plain');
    await app.register(cookie);
    // Set by requireBearer on protected routes; declared up front so every request has the same shape.
    app.decorateRequest('caller', undefined);
    app.addHook('onSend', noStoreOnAccountPaths);
    const limiters = createAuthLimiters(config, bus, metrics);
    const options = { ctx, loginLimiter: limiters.login, registerLimiter: limiters.register };
    await app.register(wellKnownRoutes, options);
    await app.register(accountRoutes, options);
    await app.register(sessionRoutes, options);
    await app.register(adminRoutes, options);
    await app.register(oauthPlugin, options);
    await app.register(internalRoutes, options);
    return app;
  } catch (error) {
    if (app) await app.close();
    else {
      await releaseBus();
      await database.close();
    }
    throw error;
  }
}
