/**
 * The one description of how the harness runs each service: entry point, port setting and the
 * environment each instance gets. tests/scale/agreement.test.ts checks this against the services'
 * settings specs and against docker-compose.yml, the Dockerfile and infra/k8s, so a renamed
 * setting or entry point breaks a test instead of silently running with defaults.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceNodeFlags } from '@keygate/testing';

export const SERVICES = ['auth', 'gateway', 'orders', 'notifications'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function repoPath(relative: string): string {
  return resolve(REPO_ROOT, relative);
}

/** `node <entry point>` from the repository root, as in the Dockerfile, compose and k8s. */
export const ENTRY_POINTS: Record<ServiceName, string> = {
  auth: 'services/auth/dist/main.js',
  gateway: 'services/gateway/dist/main.js',
  orders: 'services/orders/dist/main.js',
  notifications: 'services/notifications/dist/main.js',
};

/**
 * The whole command of each service: `node`, the Node flags of its start script (@keygate/testing's
 * serviceNodeFlags), the entry point. The harness runs exactly this, and the Dockerfile, compose
 * and k8s must too (agreement test).
 */
export const SERVICE_COMMANDS: Record<ServiceName, string[]> = Object.fromEntries(
  SERVICES.map((service) => [service, ['node', ...serviceNodeFlags(REPO_ROOT, service), ENTRY_POINTS[service]]]),
) as Record<ServiceName, string[]>;

export const PORT_SETTINGS: Record<ServiceName, string> = {
  gateway: 'GATEWAY_PORT',
  auth: 'AUTH_PORT',
  orders: 'ORDERS_PORT',
  notifications: 'NOTIFICATIONS_PORT',
};

/** The contract's default ports (docs/contract.md, "Processes and configuration"). */
export const CONTRACT_PORTS: Record<ServiceName, number> = { gateway: 8080, auth: 8081, orders: 8082, notifications: 8083 };

/** The contract's default operations ports, GET /metrics only (docs/contract.md, "Every service"). */
export const CONTRACT_METRICS_PORTS: Record<ServiceName, number> = { gateway: 9080, auth: 9081, orders: 9082, notifications: 9083 };

/** What one stack shares: every instance of every service gets the same values. */
export interface SharedSettings {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  issuer: string;
  gatewaySecret: string;
  keyEncryptionKey: string;
  logLevel: string;
  /** auth-lb server of nginx, the gateways' AUTH_URL. */
  authUrl: string;
  ordersUrl: string;
  notificationsUrl: string;
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
    [PORT_SETTINGS[instance.service]]: String(instance.port),
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(instance.metricsPort),
  };
  const perService: Record<ServiceName, Record<string, string>> = {
    auth: {
      KEY_ENCRYPTION_KEY: shared.keyEncryptionKey,
      // Every test client comes from 127.0.0.1: the login limits must not be what a test measures.
      RATE_LIMIT_LOGIN_PER_IP: '100000',
      RATE_LIMIT_LOGIN_PER_ACCOUNT: '100000',
      RATE_LIMIT_REGISTER_PER_IP: '100000',
      // nginx and the gateways are the proxies in front of auth.
      TRUST_PROXY: '127.0.0.1',
      // A rotation elsewhere (the CLI) is picked up within a second.
      KEY_REFRESH_SECONDS: '1',
    },
    gateway: {
      AUTH_URL: shared.authUrl,
      ORDERS_URL: shared.ordersUrl,
      NOTIFICATIONS_URL: shared.notificationsUrl,
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_PUBLIC_PER_IP: '1000000',
      RATE_LIMIT_USER: '1000000',
    },
    orders: {},
    notifications: {},
  };
  return { ...core, ...perService[instance.service], ...instance.extra };
}
