/**
 * How the harness runs each service, derived from the services manifest (services.json): which
 * services, their entry points, port settings and the environment each instance gets.
 * tests/scale/agreement.test.ts checks the manifest against the services' settings specs and
 * against docker-compose.yml, the Dockerfile and infra/k8s, so a renamed setting or entry point
 * breaks a test instead of silently running with defaults.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceEntry, servicesManifest, type ServiceEntry } from '@keygate/config';
import { serviceNodeFlags } from '@keygate/testing';

/** Every service of the manifest, in start order. */
export const MANIFEST: readonly ServiceEntry[] = servicesManifest();
/** A manifest service name. */
export type ServiceName = string;
export const SERVICES: readonly ServiceName[] = MANIFEST.map((service) => service.name);
export { serviceEntry };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function repoPath(relative: string): string {
  return resolve(REPO_ROOT, relative);
}

/**
 * The whole command of a service: `node`, the Node flags of its start script (@keygate/testing's
 * serviceNodeFlags), its entry point. The harness runs exactly this, and the Dockerfile, compose
 * and k8s must too (agreement test).
 */
export function serviceCommand(service: ServiceName): string[] {
  return ['node', ...serviceNodeFlags(REPO_ROOT, service), serviceEntry(service).entryPoint];
}

/** What one stack shares: every instance of every service gets the same values. */
export interface SharedSettings {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  issuer: string;
  gatewaySecret: string;
  keyEncryptionKey: string;
  logLevel: string;
  /** The gateways' upstream settings (AUTH_URL, …): nginx's internal server of each service. */
  upstreams: Record<string, string>;
}

export interface InstanceSettings {
  service: ServiceName;
  instanceName: string;
  port: number;
  /** The operations listener's port (METRICS_PORT): one free port per instance, on 127.0.0.1. */
  metricsPort: number;
  dataDir: string;
  /** Per-service overrides, e.g. a private DATABASE_URL for the PostgreSQL outage test. */
  extra?: Record<string, string>;
}

/**
 * The environment of one instance. NODE_ENV=production, so every setting the production checks
 * demand must be here (as in docker-compose.yml and infra/k8s), and nothing is generated.
 */
export function instanceEnv(shared: SharedSettings, instance: InstanceSettings): Record<string, string> {
  const core: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: shared.logLevel,
    HOST: '127.0.0.1',
    DATA_DIR: instance.dataDir,
    DATABASE_URL: shared.databaseUrl,
    REDIS_URL: shared.redisUrl,
    REDIS_PREFIX: shared.redisPrefix,
    ISSUER: shared.issuer,
    GATEWAY_SECRET: shared.gatewaySecret,
    SHUTDOWN_TIMEOUT_MS: '10000',
    INSTANCE_NAME: instance.instanceName,
    [serviceEntry(instance.service).portSetting]: String(instance.port),
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(instance.metricsPort),
  };
  const own = serviceEntry(instance.service);
  // nginx and the gateways are the proxies in front of every service that reads X-Forwarded-For.
  const trust: Record<string, string> = own.trustProxy ? { TRUST_PROXY: '127.0.0.1' } : {};
  return { ...core, ...trust, ...HARNESS_SETTINGS[instance.service]?.(shared), ...instance.extra };
}

/** The harness's own settings for a service, beyond what the manifest says. */
const HARNESS_SETTINGS: Readonly<Record<ServiceName, (shared: SharedSettings) => Record<string, string>>> = {
  auth: (shared) => ({
    KEY_ENCRYPTION_KEY: shared.keyEncryptionKey,
    // Every test client comes from 127.0.0.1: the login limits must not be what a test measures.
    RATE_LIMIT_LOGIN_PER_IP: '100000',
    RATE_LIMIT_LOGIN_PER_ACCOUNT: '100000',
    RATE_LIMIT_REGISTER_PER_IP: '100000',
    // A rotation elsewhere (the CLI) is picked up within a second.
    KEY_REFRESH_SECONDS: '1',
    // Production requires SMTP_URL. Nothing listens on port 1 (mail waits in the outbox and is
    // retried); a test that reads the mail passes its own capture server in `extra`.
    SMTP_URL: 'smtp://127.0.0.1:1',
    RATE_LIMIT_PASSWORD_RESET_PER_IP: '100000',
    RATE_LIMIT_PASSWORD_RESET_PER_ACCOUNT: '100000',
  }),
  gateway: (shared) => ({
    ...shared.upstreams,
    RATE_LIMIT_PUBLIC_PER_IP: '1000000',
    RATE_LIMIT_USER: '1000000',
  }),
};
