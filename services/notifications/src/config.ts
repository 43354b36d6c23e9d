/** The notifications service's settings: the shared core plus its port; secrets resolved for embedded mode. */
import { assertProductionReady, coreSettings, embeddedSecret, int, loadSettings, type SettingsOf } from '@keygate/config';

export const notificationsSettings = {
  ...coreSettings,
  port: int('NOTIFICATIONS_PORT', { default: 8083, min: 0, max: 65_535 }),
} as const;

export type NotificationsConfig = Omit<SettingsOf<typeof notificationsSettings>, 'gatewaySecret'> & { gatewaySecret: Buffer };

export function loadConfig(env: Readonly<Record<string, string | undefined>>, warn: (message: string) => void = () => {}): NotificationsConfig {
  const settings = loadSettings(notificationsSettings, env);
  assertProductionReady(settings, { GATEWAY_SECRET: settings.gatewaySecret });
  const gatewaySecret = embeddedSecret(settings.gatewaySecret, { env: 'GATEWAY_SECRET', dataDir: settings.dataDir, bytes: 32, nodeEnv: settings.nodeEnv, warn });
  return Object.freeze({ ...settings, gatewaySecret });
}
