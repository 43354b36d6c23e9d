/**
 * Parsers for single settings. Each returns a typed value or throws a message that, prefixed
 * with the setting's name, tells an operator exactly what to fix.
 */
import { isIP } from 'node:net';

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface Setting<T> {
  /** Environment variable name. */
  readonly env: string;
  /** Masked when the effective configuration is printed. */
  readonly secret?: boolean;
  parse(raw: string | undefined): T;
}

export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`Invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

function present(raw: string | undefined): raw is string {
  return raw !== undefined && raw.trim() !== '';
}

export function str(env: string, options: { default?: string; secret?: boolean; pattern?: RegExp; hint?: string } = {}): Setting<string> {
  return {
    env,
    secret: options.secret ?? false,
    parse(raw) {
      const value = present(raw) ? raw.trim() : options.default;
      if (value === undefined) throw new Error('is required');
      if (options.pattern && !options.pattern.test(value)) throw new Error(options.hint ?? `must match ${options.pattern}`);
      return value;
    },
  };
}

/** A host name or IP address to bind: `0.0.0.0`, `::`, `127.0.0.1`, `localhost`, `metrics.internal`. */
export function host(env: string, options: { default: string }): Setting<string> {
  return {
    env,
    parse(raw) {
      const value = present(raw) ? raw.trim() : options.default;
      if (isIP(value) === 0 && !HOST_NAME.test(value)) throw new Error(`must be an IP address or a host name, got "${value}"`);
      return value;
    },
  };
}

export function optionalStr(env: string, options: { secret?: boolean } = {}): Setting<string | undefined> {
  return { env, secret: options.secret ?? false, parse: (raw) => (present(raw) ? raw.trim() : undefined) };
}

export function int(env: string, options: { default: number; min: number; max: number; unit?: string }): Setting<number> {
  return {
    env,
    parse(raw) {
      if (!present(raw)) return options.default;
      const text = raw.trim();
      if (!/^-?\d+$/.test(text)) throw new Error(`must be a whole number${options.unit ? ` of ${options.unit}` : ''}, got "${text}"`);
      const value = Number(text);
      if (value < options.min || value > options.max) {
        throw new Error(`must be between ${options.min} and ${options.max}${options.unit ? ` ${options.unit}` : ''}, got ${value}`);
      }
      return value;
    },
  };
}

export function bool(env: string, options: { default: boolean }): Setting<boolean> {
  return {
    env,
    parse(raw) {
      if (!present(raw)) return options.default;
      const text = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(text)) return true;
      if (['0', 'false', 'no', 'off'].includes(text)) return false;
      throw new Error(`must be true or false, got "${raw}"`);
    },
  };
}

export function oneOf<T extends string>(env: string, values: readonly T[], options: { default: T }): Setting<T> {
  return {
    env,
    parse(raw) {
      if (!present(raw)) return options.default;
      const text = raw.trim() as T;
      if (!values.includes(text)) throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
      return text;
    },
  };
}

/**
 * A URL whose scheme is one of `protocols`; `undefined` when unset and not required. `hostList`:
 * libpq's `scheme://h1:p1,h2:p2/…` (several hosts, for failover) is accepted; the URL is checked
 * with its first host.
 */
export function url(env: string, options: { protocols: readonly string[]; default?: string; secret?: boolean; hostList?: boolean }): Setting<string | undefined> {
  return {
    env,
    secret: options.secret ?? false,
    parse(raw) {
      const text = present(raw) ? raw.trim() : options.default;
      if (text === undefined) return undefined;
      let parsed: URL;
      try {
        parsed = new URL(options.hostList ? text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#]*@)?[^,/?#]*),[^/?#]*/, '$1') : text);
      } catch {
        throw new Error(`must be a URL (${options.protocols.map((p) => `${p}//…`).join(' or ')})`);
      }
      if (!options.protocols.includes(parsed.protocol)) {
        throw new Error(`must use ${options.protocols.join(' or ')}, got ${parsed.protocol}`);
      }
      return text;
    },
  };
}

export function requiredUrl(env: string, options: { protocols: readonly string[]; default: string }): Setting<string> {
  const inner = url(env, options);
  return { env, parse: (raw) => inner.parse(raw) as string };
}

/** A comma-separated list; entries trimmed, empties dropped, each checked by `check`. */
export function list(env: string, options: { default?: readonly string[]; check?: (item: string) => void } = {}): Setting<readonly string[]> {
  return {
    env,
    parse(raw) {
      if (!present(raw)) return Object.freeze([...(options.default ?? [])]);
      const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
      for (const item of items) options.check?.(item);
      return Object.freeze(items);
    },
  };
}

/** Base64 (standard or url-safe) of exactly `bytes` bytes; `undefined` when unset. */
export function base64Key(env: string, options: { bytes: number }): Setting<Buffer | undefined> {
  return {
    env,
    secret: true,
    parse(raw) {
      if (!present(raw)) return undefined;
      const text = raw.trim();
      if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new Error(`must be base64 of ${options.bytes} bytes`);
      const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (key.length !== options.bytes) throw new Error(`must be base64 of exactly ${options.bytes} bytes, got ${key.length}`);
      return key;
    },
  };
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type SettingsOf<S extends SettingsSpec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** Parses every setting of `spec` from `env`; the first problem throws a ConfigError naming it. */
export function loadSettings<S extends SettingsSpec>(spec: S, env: Readonly<Record<string, string | undefined>>): SettingsOf<S> {
  const result: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(spec)) {
    try {
      result[key] = setting.parse(env[setting.env]);
    } catch (error) {
      throw new ConfigError(setting.env, error instanceof Error ? error.message : String(error));
    }
  }
  return Object.freeze(result) as SettingsOf<S>;
}

/** The effective configuration with secrets masked, for `authctl config` and start-up logs. */
export function describeSettings(spec: SettingsSpec, values: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, setting] of Object.entries(spec)) {
    const value = values[key];
    if (value === undefined) out[setting.env] = '(unset)';
    else if (setting.secret) out[setting.env] = '********';
    else if (Array.isArray(value)) out[setting.env] = value.join(',');
    else out[setting.env] = String(value);
  }
  return out;
}
