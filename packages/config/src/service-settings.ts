/**
 * The head every service's settings share: the core, its public port (<NAME>_PORT) and its
 * operations listener, both defaulting to its services-manifest entry; and the load rules that go
 * with them. A sample service (orders, notifications, a new one) needs nothing else:
 * `sampleServiceSettings(name)`.
 */
import { assertProductionReady, assertSeparateMetricsPort, coreSettings, embeddedSecret, metricsListenerSettings, type CoreConfig } from './core.js';
import { serviceEntry } from './services-manifest.js';
import { int, loadSettings, type SettingsOf, type SettingsSpec } from './settings.js';

/** The core settings plus the service's two listeners, with the ports of its manifest entry as defaults. */
export function serviceSettings(name: string) {
  const entry = serviceEntry(name);
  return {
    ...coreSettings,
    port: int(entry.portSetting, { default: entry.port, min: 0, max: 65_535 }),
    ...metricsListenerSettings(entry.metricsPort),
  } as const;
}

export type ServiceSettingsSpec = ReturnType<typeof serviceSettings>;

/**
 * Parses `spec` and applies the rules every service shares: METRICS_PORT apart from the public
 * port, and production refusing the embedded database/bus and a missing GATEWAY_SECRET (plus the
 * settings named in `requiredSecrets`). `needsDatabase: false` for a service without tables (the gateway).
 */
export function loadServiceSettings<S extends ServiceSettingsSpec & SettingsSpec>(
  spec: S,
  env: Readonly<Record<string, string | undefined>>,
  options: { requiredSecrets?: readonly (keyof S & string)[]; needsDatabase?: boolean } = {},
): SettingsOf<S> {
  const settings = loadSettings(spec, env);
  // The shared head, seen through its own type (TypeScript cannot narrow SettingsOf<S> for a generic S).
  const head = settings as unknown as SettingsOf<ServiceSettingsSpec>;
  assertSeparateMetricsPort(head, spec.port.env);
  const secrets = Object.fromEntries(['gatewaySecret', ...(options.requiredSecrets ?? [])].map((key) => [spec[key]!.env, settings[key as keyof S]]));
  assertProductionReady(head, secrets, { needsDatabase: options.needsDatabase ?? true });
  return settings;
}

/** A 32-byte key setting as configured, or outside production the generated development key (embeddedSecret). */
export function serviceSecret(settings: Pick<CoreConfig, 'dataDir' | 'nodeEnv'>, env: string, configured: Buffer | undefined, warn: (message: string) => void): Buffer {
  return embeddedSecret(configured, { env, dataDir: settings.dataDir, bytes: 32, nodeEnv: settings.nodeEnv, warn });
}

export type SampleServiceConfig = Omit<SettingsOf<ServiceSettingsSpec>, 'gatewaySecret'> & { gatewaySecret: Buffer };

/**
 * A sample service behind the gateway (orders, notifications): the shared settings and nothing
 * else. Its config.ts exports `settings` (under its own name, for docs and the agreement test) and
 * `loadConfig`.
 */
export function sampleServiceSettings(name: string): {
  settings: ServiceSettingsSpec;
  loadConfig: (env: Readonly<Record<string, string | undefined>>, warn?: (message: string) => void) => SampleServiceConfig;
} {
  const settings = serviceSettings(name);
  return {
    settings,
    loadConfig(env, warn = () => {}) {
      const loaded = loadServiceSettings(settings, env);
      return Object.freeze({ ...loaded, gatewaySecret: serviceSecret(loaded, 'GATEWAY_SECRET', loaded.gatewaySecret, warn) });
    },
  };
}
