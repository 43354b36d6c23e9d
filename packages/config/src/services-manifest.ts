/**
 * The services manifest (services.json at the repository root): the one list of services, their
 * ports, gateway routes and deployment facts. The gateway's default upstreams and routes, the
 * one-process stack, the nginx configuration and the scale-test harness are derived from it, and
 * the deployment files are checked against it (tests/scale/agreement.test.ts), so adding a
 * service is its folder, one entry here and its Dockerfile stage. Plain data, read once.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** packages/config/{src,dist}/ → the repository root; images keep the workspace layout (infra/Dockerfile). */
export const SERVICES_MANIFEST_PATH = fileURLToPath(new URL('../../../services.json', import.meta.url));

export interface ServiceEntry {
  /** Folder under services/, package @keygate/<name>, Dockerfile target, k8s Deployment keygate-<name>. */
  readonly name: string;
  /** Default public port, read from <NAME>_PORT. */
  readonly port: number;
  readonly portSetting: string;
  /** Default operations port (GET /metrics), read from METRICS_PORT. */
  readonly metricsPort: number;
  /** The gateway setting holding this service's origin; present exactly when it has routes. */
  readonly upstreamSetting: string | undefined;
  /**
   * Gateway routes to this service, in the gateway's route schema without `upstream` (this
   * service); route-table.ts validates them when the gateway loads its defaults.
   */
  readonly routes: readonly Readonly<Record<string, unknown>>[];
  /** Has migrations/<name>/ (run by its own start-up). */
  readonly migrations: boolean;
  /** Reads X-Forwarded-For from the proxies in front of it (TRUST_PROXY). */
  readonly trustProxy: boolean;
  readonly dockerTarget: string;
  /**
   * infra/k8s/<name>.yaml: "template" is rendered from infra/k8s/service.yaml.template by
   * infra/generate.mjs; "own" is written by hand (auth and the gateway: their own settings and peers).
   */
  readonly k8s: 'own' | 'template';
  /** Instances in docker-compose.yml, the scale harness, and the k8s minimum (≥ 2: autoscaled). */
  readonly replicas: number;
  /** `node <entry point>` from the repository root. */
  readonly entryPoint: string;
}

const NAME = /^[a-z][a-z0-9-]{0,30}$/;
const URL_SETTING = /^[A-Z][A-Z0-9_]*_URL$/;
const TOP_KEYS = new Set(['$comment', 'services']);
const ENTRY_KEYS = new Set(['name', 'port', 'metricsPort', 'upstreamSetting', 'routes', 'migrations', 'trustProxy', 'dockerTarget', 'k8s', 'replicas']);

function portOf(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) throw new Error(`${where} must be a port between 1 and 65535`);
  return value;
}

function entryOf(item: unknown, index: number): ServiceEntry {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error(`services[${index}] must be an object`);
  const raw = item as Record<string, unknown>;
  const name = raw.name;
  if (typeof name !== 'string' || !NAME.test(name)) throw new Error(`services[${index}].name must be a lower-case name like "orders"`);
  const where = `service ${name}`;
  for (const key of Object.keys(raw)) if (!ENTRY_KEYS.has(key)) throw new Error(`${where} has an unknown field "${key}"`);
  const routes = raw.routes;
  if (!Array.isArray(routes) || !routes.every((route) => typeof route === 'object' && route !== null && !Array.isArray(route))) {
    throw new Error(`${where}: routes must be an array of route objects`);
  }
  const upstreamSetting = raw.upstreamSetting;
  if (upstreamSetting !== undefined && (typeof upstreamSetting !== 'string' || !URL_SETTING.test(upstreamSetting))) {
    throw new Error(`${where}: upstreamSetting must be a setting name ending in _URL`);
  }
  // The gateway reaches a service only through its *_URL setting, and a setting with no route is dead.
  if ((routes.length > 0) !== (upstreamSetting !== undefined)) throw new Error(`${where}: upstreamSetting and routes go together`);
  for (const flag of ['migrations', 'trustProxy'] as const) if (typeof raw[flag] !== 'boolean') throw new Error(`${where}: ${flag} must be true or false`);
  if (typeof raw.dockerTarget !== 'string' || !NAME.test(raw.dockerTarget)) throw new Error(`${where}: dockerTarget must be a stage name`);
  if (raw.k8s !== 'own' && raw.k8s !== 'template') throw new Error(`${where}: k8s must be "own" or "template"`);
  if (typeof raw.replicas !== 'number' || !Number.isInteger(raw.replicas) || raw.replicas < 1 || raw.replicas > 10) {
    throw new Error(`${where}: replicas must be a whole number from 1 to 10`);
  }
  return Object.freeze({
    name,
    port: portOf(raw.port, `${where}: port`),
    portSetting: `${name.toUpperCase().replace(/-/g, '_')}_PORT`,
    metricsPort: portOf(raw.metricsPort, `${where}: metricsPort`),
    upstreamSetting,
    routes: Object.freeze(routes.map((route: Record<string, unknown>) => Object.freeze({ ...route }))),
    migrations: raw.migrations as boolean,
    trustProxy: raw.trustProxy as boolean,
    dockerTarget: raw.dockerTarget,
    k8s: raw.k8s,
    replicas: raw.replicas,
    entryPoint: `services/${name}/dist/main.js`,
  });
}

/** Validates a parsed manifest; throws an Error naming the entry and field at fault. */
export function parseServicesManifest(value: unknown): readonly ServiceEntry[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('must be a JSON object with a "services" array');
  for (const key of Object.keys(value)) if (!TOP_KEYS.has(key)) throw new Error(`has an unknown field "${key}"`);
  const list = (value as { services?: unknown }).services;
  if (!Array.isArray(list) || list.length === 0) throw new Error('services must be a non-empty array');
  const entries = list.map(entryOf);
  const unique = (what: string, values: (string | number | undefined)[]) => {
    const seen = new Set<string | number>();
    for (const item of values) {
      if (item === undefined) continue;
      if (seen.has(item)) throw new Error(`${what} ${item} is used twice`);
      seen.add(item);
    }
  };
  unique('name', entries.map((entry) => entry.name));
  unique('port', entries.flatMap((entry) => [entry.port, entry.metricsPort]));
  unique('upstreamSetting', entries.map((entry) => entry.upstreamSetting));
  unique('dockerTarget', entries.map((entry) => entry.dockerTarget));
  const gateway = entries.find((entry) => entry.name === 'gateway');
  if (!gateway || gateway.routes.length > 0) throw new Error('a "gateway" entry without routes is required (it is what routes lead from)');
  return Object.freeze(entries);
}

let cached: readonly ServiceEntry[] | undefined;

/** Every service, in start order; read and validated on first use. */
export function servicesManifest(): readonly ServiceEntry[] {
  if (cached === undefined) {
    try {
      cached = parseServicesManifest(JSON.parse(readFileSync(SERVICES_MANIFEST_PATH, 'utf8')));
    } catch (error) {
      throw new Error(`services manifest ${SERVICES_MANIFEST_PATH}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return cached;
}

export function serviceEntry(name: string): ServiceEntry {
  const entry = servicesManifest().find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`services manifest: no service "${name}"`);
  return entry;
}

/** The services behind the gateway (those with routes), each with its *_URL setting. */
export function gatewayUpstreams(): readonly (ServiceEntry & { upstreamSetting: string })[] {
  return servicesManifest().filter((entry): entry is ServiceEntry & { upstreamSetting: string } => entry.upstreamSetting !== undefined);
}
