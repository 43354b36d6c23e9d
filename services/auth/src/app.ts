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
import { accountRoutes } from './accounts/routes.js';
import { purgeExpiredAccountTokens } from './accounts/account-tokens.js';
import { recoveryRoutes } from './accounts/recovery-routes.js';
import { mailSender } from './mail/sender-plugin.js';
import { purgeSettledMail } from './mail/service.js';
import { bootstrapAdmin } from './accounts/service.js';
import { adminRoutes } from './admin/routes.js';
import { consentRoutes } from './consents/routes.js';
import type { AuthDatabase } from './db/schema.js';
import { noStoreOnAccountPaths } from './http/no-store.js';
import { periodicTask } from './http/periodic-task.js';
import { internalRoutes } from './internal/routes.js';
import { jwksRoutes } from './keys/jwks-routes.js';
import { KeyStore } from './keys/key-store.js';
import { keyStore } from './keys/key-store-plugin.js';
import { createAuthMetrics, registerPasswordHashGauges, registerRedisGauge } from './metrics.js';
import { purgeSpentCodes } from './oauth/authorization-codes.js';
import { metadataRoutes } from './oauth/metadata-routes.js';
import { mfaRoutes } from './mfa/routes.js';
import { purgeExpiredMfaTokens } from './mfa/service.js';
import { oauthPlugin } from './oauth/plugin.js';
import { revocationResync } from './revocations/resync-plugin.js';
import { purgeExpiredRevocations } from './revocations/service.js';
import { createAuthLimiters } from './sessions/login-limiter.js';
import { sessionRoutes } from './sessions/routes.js';
import { purgeExpiredSuccessors } from './sessions/service.js';

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

/** How often spent rows (sealed refresh successors, old authorization codes) are purged. */
const PURGE_MS = 60_000;

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
    registerRedisGauge(app.metrics.registry, bus.connection);
    const ctx: AuthContext = { config, db, bus, keys, log: app.log, metrics, passwords };
    app.decorate('authContext', ctx);
    // Added before the resources' plugins: onClose hooks run last-added first, so the database
    // and the bus close after everything that uses them.
    app.addHook('onClose', async () => {
      await releaseBus();
      await database.close();
    });
    await app.register(revocationResync, { ctx });
    await app.register(periodicTask, { name: 'purging sealed refresh successors', everyMs: PURGE_MS, task: () => purgeExpiredSuccessors(db, config.refreshGrace) });
    await app.register(periodicTask, { name: 'purging authorization codes', everyMs: PURGE_MS, task: () => purgeSpentCodes(db) });
    await app.register(periodicTask, { name: 'purging expired token revocations', everyMs: PURGE_MS, task: () => purgeExpiredRevocations(db) });
    await app.register(periodicTask, { name: 'purging two-step login tokens', everyMs: PURGE_MS, task: () => purgeExpiredMfaTokens(db) });
    await app.register(periodicTask, { name: 'purging expired account tokens', everyMs: PURGE_MS, task: () => purgeExpiredAccountTokens(db) });
    await app.register(periodicTask, { name: 'purging settled mail', everyMs: PURGE_MS, task: () => purgeSettledMail(db) });
    await app.register(keyStore, { keys });
    await app.register(mailSender, { ctx });

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
    await app.register(jwksRoutes, options);
    await app.register(metadataRoutes, options);
    await app.register(accountRoutes, options);
    await app.register(sessionRoutes, options);
    await app.register(mfaRoutes, options);
    await app.register(adminRoutes, options);
    await app.register(consentRoutes, options);
    await app.register(oauthPlugin, options);
    await app.register(internalRoutes, options);
    await app.register(recoveryRoutes, { ctx, passwordResetLimiter: limiters.passwordReset, verifyEmailLimiter: limiters.verifyEmail });
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
