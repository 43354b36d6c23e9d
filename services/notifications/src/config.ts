/** The notifications service's settings: the shared core plus its ports (public and operations); secrets resolved for embedded mode. */
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

export const notificationsSettings = {
  ...coreSettings,
  port: int('NOTIFICATIONS_PORT', { default: 8083, min: 0, max: 65_535 }),
  ...metricsListenerSettings(DEFAULT_METRICS_PORTS.notifications),
} as const;

export type NotificationsConfig = Omit<SettingsOf<typeof notificationsSettings>, 'gatewaySecret'> & { gatewaySecret: Buffer };

export function loadConfig(env: Readonly<Record<string, string | undefined>>, warn: (message: string) => void = () => {}): NotificationsConfig {
  const settings = loadSettings(notificationsSettings, env);
  assertSeparateMetricsPort(settings, 'NOTIFICATIONS_PORT');
  assertProductionReady(settings, { GATEWAY_SECRET: settings.gatewaySecret });
  const gatewaySecret = embeddedSecret(settings.gatewaySecret, { env: 'GATEWAY_SECRET', dataDir: settings.dataDir, bytes: 32, nodeEnv: settings.nodeEnv, warn });
  return Object.freeze({ ...settings, gatewaySecret });
}
