/** The orders service's settings: the shared ones of every sample service (@keygate/config), ports from services.json. */
import { sampleServiceSettings, type SampleServiceConfig } from '@keygate/config';

const orders = sampleServiceSettings('orders');
export const ordersSettings = orders.settings;
export const loadConfig = orders.loadConfig;
export type OrdersConfig = SampleServiceConfig;
