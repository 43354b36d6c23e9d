/** The auth service's settings: the shared core plus its port; secrets resolved for embedded mode. */
import { assertProductionReady, coreSettings, embeddedSecret, int, loadSettings, type SettingsOf } from '@keygate/config';

export const authSettings = {
  ...coreSettings,
  port: int('AUTH_PORT', { default: 8081, min: 0, max: 65_535 }),
} as const;

export type AuthConfig = Omit<SettingsOf<typeof authSettings>, 'gatewaySecret'> & { gatewaySecret: Buffer };

export function loadConfig(env: Readonly<Record<string, string | undefined>>, warn: (message: string) => void = () => {}): AuthConfig {
  const settings = loadSettings(authSettings, env);
  assertProductionReady(settings, { GATEWAY_SECRET: settings.gatewaySecret });
  const gatewaySecret = embeddedSecret(settings.gatewaySecret, { env: 'GATEWAY_SECRET', dataDir: settings.dataDir, bytes: 32, nodeEnv: settings.nodeEnv, warn });
  return Object.freeze({ ...settings, gatewaySecret });
}
