/** The orders service's settings: the shared core plus its ports (public and operations); secrets resolved for embedded mode. */
import {
  DEFAULT_METRICS_PORTS,
  assertProductionReady,
  assertSeparateMetricsPort,
  coreSettings,
  embeddedSecret,
  int,
  loadSettings,
  metricsListenerSettings,
  type SettingsOf,
} from '@keygate/config';

export const ordersSettings = {
  ...coreSettings,
  port: int('ORDERS_PORT', { default: 8082, min: 0, max: 65_535 }),
  ...metricsListenerSettings(DEFAULT_METRICS_PORTS.orders),
} as const;

export type OrdersConfig = Omit<SettingsOf<typeof ordersSettings>, 'gatewaySecret'> & { gatewaySecret: Buffer };

export function loadConfig(env: Readonly<Record<string, string | undefined>>, warn: (message: string) => void = () => {}): OrdersConfig {
  const settings = loadSettings(ordersSettings, env);
  assertSeparateMetricsPort(settings, 'ORDERS_PORT');
  assertProductionReady(settings, { GATEWAY_SECRET: settings.gatewaySecret });
  const gatewaySecret = embeddedSecret(settings.gatewaySecret, { env: 'GATEWAY_SECRET', dataDir: settings.dataDir, bytes: 32, nodeEnv: settings.nodeEnv, warn });
  return Object.freeze({ ...settings, gatewaySecret });
}
