/**
 * authctl config: the effective auth configuration (what the service would run with from this
 * environment) with every secret masked, and where each value came from. Uses describeSettings, the
 * same masking the start-up logs use, so a secret setting is never printed.
 */
import { parseArgs } from 'node:util';
import { describeSettings } from '@keygate/config';
import { authSettings, loadConfig } from '../config.js';
import { UsageError } from './support.js';

/** env: set in the environment; default: the built-in default; generated: an embedded dev secret in DATA_DIR/secrets. */
type Source = 'env' | 'default' | 'generated' | 'unset';

export function configCommand(args: string[], env: Readonly<Record<string, string | undefined>>): void {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  // Loaded again from the unaltered environment: authctl itself runs with LOG_LEVEL=warn by default.
  const config = loadConfig(env);
  const described = describeSettings(authSettings, config as unknown as Record<string, unknown>);
  const rows = Object.values(authSettings).map((setting) => {
    const value = described[setting.env]!;
    const fromEnv = env[setting.env] !== undefined && env[setting.env]!.trim() !== '';
    const source: Source = fromEnv ? 'env' : value === '(unset)' ? 'unset' : setting.secret ? 'generated' : 'default';
    return { setting: setting.env, value, source };
  });
  if (values.json) {
    console.log(JSON.stringify(Object.fromEntries(rows.map((r) => [r.setting, { value: r.value, source: r.source }]))));
    return;
  }
  const width = Math.max(...rows.map((r) => r.setting.length));
  for (const r of rows) {
    const shown = r.value === '' ? '(empty)' : r.value;
    console.log(`${r.setting.padEnd(width)}  ${shown}${r.source === 'env' || r.source === 'unset' ? '' : `  (${r.source})`}`);
  }
}
