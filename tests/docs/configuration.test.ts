// docs/configuration.md must list every setting the services read, so operators never meet an
// undocumented variable (and a renamed one shows up here first).
import { test } from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { authSettings } from '@keygate/auth/config';
import { gatewaySettings } from '@keygate/gateway/config';
import { ordersSettings } from '@keygate/orders/config';
import { notificationsSettings } from '@keygate/notifications/config';

const documentation = readFileSync(resolve(import.meta.dirname, '../../docs/configuration.md'), 'utf8');

test('every setting of every service is documented', async (t) => {
  const specs = { gateway: gatewaySettings, auth: authSettings, orders: ordersSettings, notifications: notificationsSettings };
  const names = new Set<string>();
  for (const spec of Object.values(specs)) for (const setting of Object.values(spec)) names.add(setting.env);
  t.ok(names.size > 30, `${names.size} settings`);
  for (const name of names) t.match(documentation, new RegExp(`\\|\\s*\`${name}\`[^\\n]*\\|`), `${name} is in docs/configuration.md`);
});
