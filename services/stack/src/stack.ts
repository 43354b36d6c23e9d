/**
 * The whole product in one Node process on the embedded defaults — one PGlite under DATA_DIR and
 * one in-process bus shared by every service of the services manifest (PGlite allows a single process per data
 * directory, and the in-memory bus only reaches services in the same process). With
 * DATABASE_URL / REDIS_URL set it uses those instead. Used by `pnpm start` and by the end-to-end
 * and browser tests; production runs each service as its own process. In development it also
 * serves the SPA demo on its own origin (SPA_DEMO_PORT, 8090) and registers its public client.
 */
import type { FastifyInstance } from 'fastify';
import type { PGlite } from '@electric-sql/pglite';
import { createBus, type Bus } from '@keygate/bus';
// The auth app's type, for its `authContext` decoration (the database the client is written to).
import type {} from '@keygate/auth';
import { ensureDevClient } from '@keygate/auth/dev-clients';
import { ConfigError, coreSettings, gatewayUpstreams, int, loadSettings, servicesManifest, type ServiceEntry } from '@keygate/config';
import { openEmbeddedPglite } from '@keygate/db';
import { listenService } from '@keygate/service-kit';
import { SPA_CLIENT, buildSpaDemo } from '@keygate/spa-demo';

/** What every service package exports: `build` from its app, `loadConfig` from its config. */
interface ServiceModules {
  build(config: ServiceListenConfig, deps: { pglite?: PGlite; bus: Bus }): Promise<FastifyInstance>;
  loadConfig(env: Env, warn: (message: string) => void): ServiceListenConfig;
}
interface ServiceListenConfig {
  port: number;
  metricsHost: string;
  metricsPort: number;
}

/**
 * A service's package, found by the manifest's name in the workspace (services/<name>/dist, a
 * sibling of this package from src/ and dist/ alike), so a new service needs no import here.
 */
async function serviceModules(service: ServiceEntry): Promise<ServiceModules> {
  const [app, config] = await Promise.all([
    import(new URL(`../../${service.name}/dist/app.js`, import.meta.url).href) as Promise<Pick<ServiceModules, 'build'>>,
    import(new URL(`../../${service.name}/dist/config.js`, import.meta.url).href) as Promise<Pick<ServiceModules, 'loadConfig'>>,
  ]);
  return { build: app.build, loadConfig: config.loadConfig };
}

export interface RunningStack {
  gatewayUrl: string;
  /** The SPA demo's own origin (development only; undefined when not started). */
  spaDemoUrl: string | undefined;
  urls: ServiceUrls;
  /** Each service's operations listener (GET /metrics). */
  metricsUrls: ServiceUrls;
  embeddedDatabase: boolean;
  embeddedBus: boolean;
  dataDir: string;
  bus: Bus;
  /** Gateway first, so no new request reaches services that are closing. */
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;
/** By service name (services.json). */
type ServiceUrls = Record<string, string>;

/** Upstream URLs (AUTH_URL, …) follow the chosen ports unless set explicitly. */
function withUpstreams(env: Env): Env {
  const host = env.HOST?.trim() || '127.0.0.1';
  const upstreams = gatewayUpstreams().map((service) => [
    service.upstreamSetting,
    env[service.upstreamSetting] ?? `http://${host}:${env[service.portSetting]?.trim() || service.port}`,
  ]);
  return { ...env, ...Object.fromEntries(upstreams) };
}

/** The SPA demo's port (its own origin); `pnpm start` serves it outside production. */
const stackSettings = { spaDemoPort: int('SPA_DEMO_PORT', { default: 8090, min: 1, max: 65_535 }) };

/**
 * The SPA demo runs in development (`pnpm start`), and in tests only when they ask for it with
 * SPA_DEMO_PORT (so parallel test stacks do not all want port 8090); never in production.
 */
function wantsSpaDemo(env: Env, nodeEnv: string): boolean {
  return nodeEnv === 'development' || (nodeEnv !== 'production' && env.SPA_DEMO_PORT !== undefined);
}

/**
 * Registers the SPA demo's public client with auth's database (idempotently), before the gateway
 * starts, so the gateway's first read of the public clients' origins already has its origin.
 */
async function registerSpaClient(auth: FastifyInstance, spaOrigin: string, warn: (message: string) => void): Promise<void> {
  const spec = {
    name: SPA_CLIENT.name,
    public: true,
    grants: [...SPA_CLIENT.grants],
    redirectUris: [spaOrigin + SPA_CLIENT.redirectPath],
    // Where RP-initiated logout (GET /oauth/logout) may send the browser back to.
    postLogoutRedirectUris: [spaOrigin + SPA_CLIENT.postLogoutPath],
    scopes: [...SPA_CLIENT.scopes],
    // Third-party on purpose: the demo shows the consent step, and a token held by page script
    // gets no `account` scope (it cannot change the password or delete the account).
    firstParty: false,
    introspect: false,
  };
  const outcome = await ensureDevClient(auth.authContext.db, SPA_CLIENT.id, spec);
  if (outcome === 'differs') warn(`the client ${SPA_CLIENT.id} exists with other settings and is kept; delete it (authctl clients delete ${SPA_CLIENT.id}) to have it registered again`);
}

const metricsPortSetting = (service: ServiceEntry) => service.portSetting.replace(/_PORT$/, '_METRICS_PORT');

/**
 * METRICS_PORT names one service's operations port, and this process runs them all: each takes
 * its own from <SERVICE>_METRICS_PORT (default: the service's own, 9080-9083). METRICS_PORT=0 (a
 * free port for each, as in tests) is the one value that means the same for all of them.
 */
function withMetricsPort(env: Env, service: ServiceEntry): Env {
  const shared = env.METRICS_PORT?.trim();
  if (shared !== undefined && shared !== '' && shared !== '0') {
    const names = servicesManifest().map(metricsPortSetting);
    throw new ConfigError('METRICS_PORT', `is one service's port and pnpm start runs ${names.length}: set ${names.slice(0, -1).join(', ')} or ${names.at(-1)} instead`);
  }
  const own = env[metricsPortSetting(service)];
  return own === undefined ? env : { ...env, METRICS_PORT: own };
}

/**
 * One service's environment: its own operations port, and a service behind the gateway that reads
 * X-Forwarded-For trusts the gateway on this host (or every login would share one per-IP
 * rate-limit bucket and every session would show 127.0.0.1).
 */
function serviceEnv(env: Env, service: ServiceEntry, spaOrigin: string | undefined): Env {
  const own = withMetricsPort(env, service);
  // The SPA demo calls /orders from its own origin: the gateway's CORS for resource routes must
  // list it. Only the gateway's: the SPA holds tokens, not the refresh cookie, so auth's Origin
  // check for the cookie calls is not widened.
  if (service.name === 'gateway' && spaOrigin !== undefined) return { ...own, ALLOWED_ORIGINS: [env.ALLOWED_ORIGINS, spaOrigin].filter((item) => item?.trim()).join(',') };
  return service.trustProxy && service.upstreamSetting !== undefined ? { ...own, TRUST_PROXY: env.TRUST_PROXY ?? '127.0.0.1' } : own;
}

export async function startStack(rawEnv: Env, warn: (message: string) => void = () => {}): Promise<RunningStack> {
  const env = withUpstreams(rawEnv);
  const core = loadSettings(coreSettings, env);
  const { spaDemoPort } = loadSettings(stackSettings, env);
  const spaOrigin = wantsSpaDemo(env, core.nodeEnv) ? `http://${core.host}:${spaDemoPort}` : undefined;
  // Every configuration first: a bad setting stops start-up before anything opens.
  const services = await Promise.all(
    servicesManifest().map(async (service) => {
      const modules = await serviceModules(service);
      return { service, modules, config: modules.loadConfig(serviceEnv(env, service, spaOrigin), warn) };
    }),
  );

  const pglite: PGlite | undefined = core.databaseUrl ? undefined : await openEmbeddedPglite(core.dataDir);
  const bus = createBus({ redisUrl: core.redisUrl, keyPrefix: core.redisPrefix, onError: () => {} });
  const started: FastifyInstance[] = [];
  const close = async () => {
    for (const app of [...started].reverse()) await app.close();
    await bus.close();
    if (pglite && !pglite.closed) await pglite.close();
  };
  const urls: ServiceUrls = {};
  const metricsUrls: ServiceUrls = {};
  try {
    if (spaOrigin !== undefined) {
      const app = await buildSpaDemo({ issuer: core.issuer });
      started.push(app);
      await app.listen({ host: core.host, port: spaDemoPort });
    }
    // In manifest order (auth first: the gateway loads its JWKS from it at start); only services
    // with a database get the embedded one.
    for (const { service, modules, config } of services) {
      const app = await modules.build(config, service.migrations && pglite ? { pglite, bus } : { bus });
      started.push(app);
      const opened = await listenService(app, { host: core.host, port: config.port, metricsHost: config.metricsHost, metricsPort: config.metricsPort });
      urls[service.name] = `http://${core.host}:${new URL(opened.url).port}`;
      metricsUrls[service.name] = opened.metricsUrl;
      if (service.name === 'auth' && spaOrigin !== undefined) await registerSpaClient(app, spaOrigin, warn);
    }
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  const gatewayUrl = urls.gateway;
  if (gatewayUrl === undefined) throw new Error('services manifest: no gateway');
  return {
    gatewayUrl,
    spaDemoUrl: spaOrigin,
    urls,
    metricsUrls,
    embeddedDatabase: pglite !== undefined,
    embeddedBus: core.redisUrl === undefined,
    dataDir: core.dataDir,
    bus,
    close,
  };
}
