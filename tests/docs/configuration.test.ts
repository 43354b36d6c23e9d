// docs/configuration.md must list every setting the services read, so operators never meet an
// undocumented variable (and a renamed one shows up here first). The services are the manifest's
// (services.json), so a new one is covered without a change here.
import { test } from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { servicesManifest } from '@keygate/config';

const ROOT = resolve(import.meta.dirname, '../..');
const documentation = readFileSync(resolve(ROOT, 'docs/configuration.md'), 'utf8');

const isSetting = (value: unknown): value is { env: string } =>
  typeof value === 'object' && value !== null && typeof (value as { env?: unknown }).env === 'string' && typeof (value as { parse?: unknown }).parse === 'function';

/** The env names of every settings spec a service's built config module exports. */
async function settingNames(service: string): Promise<string[]> {
  const module = (await import(pathToFileURL(resolve(ROOT, `services/${service}/dist/config.js`)).href)) as Record<string, unknown>;
  return Object.values(module)
    .filter((value): value is Record<string, unknown> => typeof value === 'object' && value !== null)
    .map((spec) => Object.values(spec))
    .filter((values) => values.length > 0 && values.every(isSetting))
    .flatMap((values) => values.map((setting) => (setting as { env: string }).env));
}

test('every setting of every service is documented', async (t) => {
  const names = new Set<string>();
  for (const { name } of servicesManifest()) {
    const own = await settingNames(name);
    t.ok(own.length > 10, `${name}: its settings spec is found (${own.length} settings)`);
    for (const setting of own) names.add(setting);
  }
  t.ok(names.size > 30, `${names.size} settings`);
  for (const name of names) t.match(documentation, new RegExp(`\\|\\s*\`${name}\`[^\\n]*\\|`), `${name} is in docs/configuration.md`);
});
