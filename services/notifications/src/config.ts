/** The notifications service's settings: the shared ones of every sample service (@keygate/config), ports from services.json. */
import { sampleServiceSettings, type SampleServiceConfig } from '@keygate/config';

const notifications = sampleServiceSettings('notifications');
export const notificationsSettings = notifications.settings;
export const loadConfig = notifications.loadConfig;
export type NotificationsConfig = SampleServiceConfig;
