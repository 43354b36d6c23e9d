/**
 * `pnpm start`: the whole product in one Node process on the embedded defaults — one PGlite
 * under DATA_DIR and one in-process bus shared by the four services (PGlite allows a single
 * process per data directory, and the in-memory bus only reaches services in the same process).
 * With DATABASE_URL / REDIS_URL set it uses those instead. Production runs each service as its
 * own process (services/<name>/dist/main.js); this launcher is for trying the product.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { PGlite } from '@electric-sql/pglite';
import { createBus } from '@keygate/bus';
import { coreSettings, loadSettings } from '@keygate/config';
import { openEmbeddedPglite } from '@keygate/db';
import { exitOnStartupError } from '@keygate/service-kit';
import { build as buildAuth } from '@keygate/auth';
import { loadConfig as loadAuthConfig } from '@keygate/auth/config';
import { build as buildGateway } from '@keygate/gateway';
import { loadConfig as loadGatewayConfig } from '@keygate/gateway/config';
import { build as buildOrders } from '@keygate/orders';
import { loadConfig as loadOrdersConfig } from '@keygate/orders/config';
import { build as buildNotifications } from '@keygate/notifications';
import { loadConfig as loadNotificationsConfig } from '@keygate/notifications/config';

const warnings: string[] = [];
const warn = (message: string) => {
  if (!warnings.includes(message)) warnings.push(message);
};

async function main(): Promise<void> {
  const env = process.env;
  const core = loadSettings(coreSettings, env);
  const authConfig = loadAuthConfig(env, warn);
  const ordersConfig = loadOrdersConfig(env, warn);
  const notificationsConfig = loadNotificationsConfig(env, warn);
  const gatewayConfig = loadGatewayConfig(env, warn);
  for (const message of warnings) process.stderr.write(`warning: ${message}\n`);

  const pglite: PGlite | undefined = core.databaseUrl ? undefined : await openEmbeddedPglite(core.dataDir);
  const bus = createBus({ redisUrl: core.redisUrl, keyPrefix: core.redisPrefix, onError: () => {} });
  const shared = { ...(pglite ? { pglite } : {}), bus };

  const apps: Array<{ name: string; app: FastifyInstance; port: number }> = [];
  // Auth first: the gateway loads its JWKS from it at start.
  apps.push({ name: 'auth', app: await buildAuth(authConfig, shared), port: authConfig.port });
  apps.push({ name: 'orders', app: await buildOrders(ordersConfig, shared), port: ordersConfig.port });
  apps.push({ name: 'notifications', app: await buildNotifications(notificationsConfig, shared), port: notificationsConfig.port });
  for (const entry of apps) await entry.app.listen({ host: core.host, port: entry.port });
  const gateway = await buildGateway(gatewayConfig, { bus });
  await gateway.listen({ host: core.host, port: gatewayConfig.port });
  apps.push({ name: 'gateway', app: gateway, port: gatewayConfig.port });

  closeWithGrace({ delay: core.shutdownTimeoutMs }, async () => {
    // The entry point goes first so no new request reaches services that are closing.
    for (const entry of [...apps].reverse()) await entry.app.close();
    await bus.close();
    if (pglite && !pglite.closed) await pglite.close();
  });

  const gatewayUrl = `http://${core.host}:${gatewayConfig.port}`;
  process.stdout.write(
    [
      '',
      `keygate is running (${core.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${core.dataDir}`}, ${core.redisUrl ? 'Redis' : 'in-process bus'}).`,
      `  gateway        ${gatewayUrl}   <- the one public entry point`,
      `  auth           http://${core.host}:${authConfig.port}`,
      `  orders         http://${core.host}:${ordersConfig.port}`,
      `  notifications  http://${core.host}:${notificationsConfig.port}`,
      '',
      'Try first:',
      `  open ${gatewayUrl}/ for the demo page, or:`,
      `  curl -s -X POST ${gatewayUrl}/auth/register -H 'content-type: application/json' -d '{"email":"me@example.com","password":"correct horse battery"}'`,
      `  curl -s -X POST ${gatewayUrl}/auth/login -H 'content-type: application/json' -d '{"email":"me@example.com","password":"correct horse battery"}'`,
      `  curl -s ${gatewayUrl}/orders -H "authorization: Bearer <access_token>"`,
      '',
    ].join('\n') + '\n',
  );
}

main().catch(exitOnStartupError);
