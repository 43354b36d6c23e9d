/**
 * What the sample services behind the gateway (orders, notifications, a new one) are built from:
 * the app with its own database schema, the bus, gateway trust and their shutdown order
 * (`buildSampleApp`), and the request schemas their list and item routes share.
 */
export * from './app.js';
export * from './schemas.js';
// Every request of a sample service carries the gateway's user (`request.user`): re-exported so
// that importing this package brings gateway-trust's typing of it.
export type { GatewayUser } from '@keygate/gateway-trust';
