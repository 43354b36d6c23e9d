/**
 * The deployment files agree with the code: docker-compose.yml, infra/Dockerfile, infra/k8s and
 * the scale-test harness set only settings some service actually reads (its settings spec), start
 * the entry points that exist, use the contract's ports and health paths, and keep secrets out of
 * the files. A renamed setting or entry point fails here instead of being ignored at run time.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import * as authConfig from '@keygate/auth/config';
import * as gatewayConfig from '@keygate/gateway/config';
import * as notificationsConfig from '@keygate/notifications/config';
import * as ordersConfig from '@keygate/orders/config';
import { INTERNAL_SERVICES, renderKeygateConf, type InternalService } from '../../infra/nginx/render.mjs';
import { mainConf } from './harness/nginx.js';
import {
  CONTRACT_METRICS_PORTS,
  CONTRACT_PORTS,
  ENTRY_POINTS,
  PORT_SETTINGS,
  SERVICES,
  SERVICE_COMMANDS,
  instanceEnv,
  repoPath,
  type ServiceName,
} from './harness/services.js';

interface SettingLike {
  env: string;
  parse(raw: string | undefined): unknown;
}

function isSetting(value: unknown): value is SettingLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SettingLike).env === 'string' &&
    typeof (value as SettingLike).parse === 'function'
  );
}

/** Every setting exported by a service's config module (its spec objects, whatever they are named). */
function settingsOf(module: Record<string, unknown>): Map<string, SettingLike> {
  const found = new Map<string, SettingLike>();
  for (const value of Object.values(module)) {
    if (typeof value !== 'object' || value === null) continue;
    const entries = Object.values(value as Record<string, unknown>);
    if (entries.length === 0 || !entries.every(isSetting)) continue;
    for (const setting of entries as SettingLike[]) found.set(setting.env, setting);
  }
  return found;
}

const SETTINGS: Record<ServiceName, Map<string, SettingLike>> = {
  auth: settingsOf(authConfig as Record<string, unknown>),
  gateway: settingsOf(gatewayConfig as Record<string, unknown>),
  orders: settingsOf(ordersConfig as Record<string, unknown>),
  notifications: settingsOf(notificationsConfig as Record<string, unknown>),
};

/** The services nginx balances behind the gateways (its internal servers). */
const INTERNAL = Object.keys(INTERNAL_SERVICES) as InternalService[];

/** Secrets: only ever by reference (compose `${VAR:?}` from .env, k8s secretKeyRef). */
const SECRETS = ['DATABASE_URL', 'REDIS_URL', 'KEY_ENCRYPTION_KEY', 'GATEWAY_SECRET', 'ADMIN_PASSWORD'];

/**
 * Seconds a stopping instance may take at most, from SIGTERM to exit: its drain delay (serving
 * while balancers stop routing) plus its shutdown timeout, from `value(name)` or the defaults.
 */
function shutdownSeconds(service: ServiceName, value: (name: string) => string | undefined): number {
  const setting = (name: string) => Number(value(name) ?? SETTINGS[service].get(name)?.parse(undefined));
  return (setting('SHUTDOWN_DRAIN_DELAY_MS') + setting('SHUTDOWN_TIMEOUT_MS')) / 1000;
}

function unknownSettings(service: ServiceName, names: Iterable<string>): string[] {
  return [...names].filter((name) => !SETTINGS[service].has(name));
}

/** The service a command runs: exactly `node <its start script's flags> services/<name>/dist/main.js`. */
function serviceOfCommand(command: unknown): ServiceName | undefined {
  if (!Array.isArray(command)) return undefined;
  return SERVICES.find((service) => JSON.stringify(SERVICE_COMMANDS[service]) === JSON.stringify(command));
}

test('each service reads its settings, with the contract port as default', async (t) => {
  for (const service of SERVICES) {
    const settings = SETTINGS[service];
    t.ok(settings.size > 10, `${service}: settings spec found (${settings.size} settings)`);
    const port = settings.get(PORT_SETTINGS[service]);
    t.ok(port, `${service} reads ${PORT_SETTINGS[service]}`);
    t.equal(port?.parse(undefined), CONTRACT_PORTS[service], `${PORT_SETTINGS[service]} defaults to ${CONTRACT_PORTS[service]}`);
    t.equal(settings.get('METRICS_PORT')?.parse(undefined), CONTRACT_METRICS_PORTS[service], `${service}: METRICS_PORT defaults to ${CONTRACT_METRICS_PORTS[service]}`);
    t.equal(settings.get('METRICS_HOST')?.parse(undefined), '127.0.0.1', `${service}: the operations listener is on loopback unless told otherwise`);
    const loader = { auth: authConfig, gateway: gatewayConfig, orders: ordersConfig, notifications: notificationsConfig }[service] as {
      loadConfig(env: Record<string, string>): unknown;
    };
    for (const [env, message] of [
      [{ METRICS_PORT: '70000' }, /^Invalid setting METRICS_PORT: must be between 0 and 65535, got 70000$/],
      [{ METRICS_HOST: 'metrics host' }, /^Invalid setting METRICS_HOST: must be an IP address or a host name, got "metrics host"$/],
      [{ [PORT_SETTINGS[service]]: '9000', METRICS_PORT: '9000' }, new RegExp(`^Invalid setting METRICS_PORT: must differ from ${PORT_SETTINGS[service]} \\(9000\\)`)],
    ] as const) {
      t.throws(() => loader.loadConfig({ NODE_ENV: 'test', ...env }), { message }, `${service}: refuses ${JSON.stringify(env)} with one line naming the setting`);
    }
    t.equal(ENTRY_POINTS[service], `services/${service}/dist/main.js`);
    t.ok(existsSync(repoPath(ENTRY_POINTS[service])), `${ENTRY_POINTS[service]} exists (built)`);
    t.ok(existsSync(repoPath(`services/${service}/src/main.ts`)), `services/${service}/src/main.ts exists`);
  }
  t.ok(existsSync(repoPath('services/auth/dist/cli.js')), 'the auth CLI the rotation test runs exists');
  for (const setting of Object.values(INTERNAL_SERVICES))
    t.ok(SETTINGS.gateway.has(setting), `the gateway reads ${setting}, which nginx's internal servers serve`);
});

test('the harness sets only settings the services read, through the same template as operators', async (t) => {
  const shared = {
    databaseUrl: 'postgres://u@127.0.0.1:5432/db',
    redisUrl: 'redis://127.0.0.1:6379',
    redisPrefix: 'p:',
    issuer: 'http://127.0.0.1:1',
    gatewaySecret: Buffer.alloc(32, 1).toString('base64'),
    keyEncryptionKey: Buffer.alloc(32, 2).toString('base64'),
    logLevel: 'warn',
    authUrl: 'http://127.0.0.1:2',
    ordersUrl: 'http://127.0.0.1:3',
    notificationsUrl: 'http://127.0.0.1:4',
  };
  for (const service of SERVICES) {
    const env = instanceEnv(shared, { service, instanceName: `${service}-1`, port: 1234, metricsPort: 5678, dataDir: '/tmp/x' });
    t.same(unknownSettings(service, Object.keys(env)), [], `${service}: every variable the harness sets is a setting`);
    t.equal(env[PORT_SETTINGS[service]], '1234', `${service}: port through ${PORT_SETTINGS[service]}`);
    t.equal(env.METRICS_PORT, '5678', `${service}: its own operations port (several instances share the machine)`);
    t.equal(env.METRICS_HOST, '127.0.0.1', `${service}: operations listener on loopback`);
    t.equal(env.NODE_ENV, 'production', `${service}: production mode, as deployed`);
    // The harness's environment must pass the service's own validation, production checks included.
    const loader = { auth: authConfig, gateway: gatewayConfig, orders: ordersConfig, notifications: notificationsConfig }[service] as {
      loadConfig(env: Record<string, string>): unknown;
    };
    t.doesNotThrow(() => loader.loadConfig(env), `${service}: loadConfig accepts the harness environment`);
  }
  const wrapper = mainConf('/tmp/prefix');
  t.match(wrapper, /include \/tmp\/prefix\/keygate\.conf;/, 'the harness wraps the rendered template, nothing else');
  t.notMatch(wrapper, /upstream|proxy_pass/, 'no balancing rules of its own');
});

// ---------------------------------------------------------------- docker-compose.yml

type ComposeService = {
  command?: unknown;
  environment?: Record<string, unknown>;
  build?: { dockerfile?: string; target?: string };
  healthcheck?: { test?: unknown };
  depends_on?: Record<string, { condition?: string }>;
  volumes?: string[];
  ports?: string[];
  image?: string;
  stop_grace_period?: string;
};

const compose = parse(readFileSync(repoPath('docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

test('docker-compose.yml runs the entry points with settings the services read', async (t) => {
  const byService = new Map<ServiceName, string[]>();
  for (const [name, definition] of Object.entries(compose.services)) {
    const service = serviceOfCommand(definition.command);
    if (definition.build)
      t.ok(service, `${name}: built from our image, so it runs one of the entry points (${JSON.stringify(definition.command)})`);
    if (!service) continue;
    byService.set(service, [...(byService.get(service) ?? []), name]);
    const env = definition.environment ?? {};
    t.same(unknownSettings(service, Object.keys(env)), [], `${name}: every variable is a ${service} setting`);
    t.equal(env.NODE_ENV, 'production', `${name}: NODE_ENV=production`);
    for (const secret of SECRETS) {
      if (!(secret in env)) continue;
      t.match(String(env[secret]), /\$\{[A-Z_]+:\?[^}]*\}/, `${name}: ${secret} comes from a required .env variable, never a literal`);
    }
    const port = CONTRACT_PORTS[service];
    if (PORT_SETTINGS[service] in env) t.equal(String(env[PORT_SETTINGS[service]]), String(port), `${name}: contract port ${port}`);
    // Prometheus scrapes from its own container: the operations listener must take the compose
    // network's connections, and must never be published to the host.
    t.equal(env.METRICS_HOST, '0.0.0.0', `${name}: METRICS_HOST=0.0.0.0 so Prometheus reaches it on the compose network`);
    t.equal(String(env.METRICS_PORT), String(CONTRACT_METRICS_PORTS[service]), `${name}: METRICS_PORT ${CONTRACT_METRICS_PORTS[service]}`);
    t.same(definition.ports ?? [], [], `${name}: publishes no port to the host (nginx and Prometheus reach it on the compose network)`);
    t.match(
      JSON.stringify(definition.healthcheck?.test),
      new RegExp(`127\\.0\\.0\\.1:${port}/healthz`),
      `${name}: healthcheck on /healthz:${port}`,
    );
    t.equal(definition.build?.dockerfile, 'infra/Dockerfile', `${name}: built from infra/Dockerfile`);
    t.equal(definition.build?.target, service, `${name}: image target ${service}`);
    t.equal(definition.depends_on?.postgres?.condition, 'service_healthy', `${name}: waits for a healthy PostgreSQL`);
    t.equal(definition.depends_on?.redis?.condition, 'service_healthy', `${name}: waits for a healthy Redis`);
    const budget = shutdownSeconds(service, (setting) => (setting in env ? String(env[setting]) : undefined));
    const grace = /^(\d+)s$/.exec(definition.stop_grace_period ?? '')?.[1];
    t.ok(
      Number(grace) > budget,
      `${name}: stop_grace_period ${definition.stop_grace_period} > drain delay + SHUTDOWN_TIMEOUT_MS (${budget} s)`,
    );
  }
  t.same(byService.get('auth')?.length, 2, '2 auth instances');
  t.same(byService.get('gateway')?.length, 2, '2 gateway instances');
  t.same(byService.get('orders')?.length, 1, 'orders');
  t.same(byService.get('notifications')?.length, 1, 'notifications');
  for (const store of ['postgres', 'redis']) t.ok(compose.services[store]?.healthcheck?.test, `${store} has a healthcheck`);
});

test('docker-compose.yml: nginx balances exactly the compose instances, with the rendered template', async (t) => {
  const lb = compose.services.lb;
  t.ok(lb, 'an nginx service `lb`');
  t.ok(lb?.volumes?.includes('./infra/nginx/compose.conf:/etc/nginx/conf.d/default.conf:ro'), 'mounts infra/nginx/compose.conf');
  const names = (service: ServiceName) =>
    Object.entries(compose.services)
      .filter(([, d]) => serviceOfCommand(d.command) === service)
      .map(([n]) => n);
  const gateways = names('gateway');
  // One internal server per service behind the gateways, on that service's contract port.
  const internal = INTERNAL.map((service) => ({
    name: service,
    listen: String(CONTRACT_PORTS[service]),
    servers: names(service).map((name) => `${name}:${CONTRACT_PORTS[service]}`),
  }));
  const expected = renderKeygateConf({
    publicListen: '80',
    gateways: gateways.map((name) => `${name}:${CONTRACT_PORTS.gateway}`),
    internal,
  });
  t.equal(
    readFileSync(repoPath('infra/nginx/compose.conf'), 'utf8'),
    expected,
    'compose.conf is the template rendered for these instances (re-render it: docs/operations.md)',
  );
  for (const gateway of gateways) {
    const env = compose.services[gateway]?.environment ?? {};
    for (const service of INTERNAL) {
      const setting = INTERNAL_SERVICES[service];
      t.equal(env[setting], `http://lb:${CONTRACT_PORTS[service]}`, `${gateway}: ${setting} is nginx's ${service} server`);
    }
  }
  t.ok(
    lb?.ports?.some((mapping) => /:80$/.test(mapping)),
    'publishes the public server',
  );
  for (const service of INTERNAL) {
    t.notOk(
      lb?.ports?.some((mapping) => mapping.endsWith(`:${CONTRACT_PORTS[service]}`)),
      `never publishes the internal ${service} server`,
    );
  }
});

test('Prometheus scrapes every compose instance on its operations port, and only there', async (t) => {
  const prometheus = compose.services.prometheus;
  t.ok(prometheus, 'a `prometheus` service');
  t.ok(prometheus?.volumes?.includes('./infra/prometheus/compose.yml:/etc/prometheus/prometheus.yml:ro'), 'mounts infra/prometheus/compose.yml');
  for (const mapping of prometheus?.ports ?? []) t.match(mapping, /^127\.0\.0\.1:/, `its UI is published on the host's loopback only (${mapping})`);
  const config = parse(readFileSync(repoPath('infra/prometheus/compose.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };
  const scraped = config.scrape_configs.flatMap((job) => {
    t.equal(job.metrics_path ?? '/metrics', '/metrics', `${job.job_name}: GET /metrics`);
    return job.static_configs.flatMap((group) => group.targets);
  });
  const expected = Object.entries(compose.services).flatMap(([name, definition]) => {
    const service = serviceOfCommand(definition.command);
    return service ? [`${name}:${CONTRACT_METRICS_PORTS[service]}`] : [];
  });
  t.same([...scraped].sort(), [...expected].sort(), 'one target per instance, at its METRICS_PORT');
  for (const target of scraped) {
    t.notOk(
      Object.values(CONTRACT_PORTS).some((port) => target.endsWith(`:${port}`)),
      `${target}: never a public port`,
    );
  }
});

test('nginx never routes /metrics: refused at the edge, and no server reaches an operations port', async (t) => {
  const rendered = renderKeygateConf({
    publicListen: '80',
    gateways: ['gateway-1:8080'],
    internal: [{ name: 'auth', listen: '8081', servers: ['auth-1:8081'] }],
  });
  // The public server block: from its heading to the closing brace at the start of a line.
  const start = rendered.indexOf('# Public entry point');
  const publicServer = rendered.slice(start, rendered.indexOf('\n}\n', start));
  t.ok(start >= 0 && publicServer.includes('proxy_pass http://keygate_gateways;'), 'found the public server');
  t.match(
    publicServer,
    /location = \/metrics \{\s*default_type application\/json;\s*return 404 '\{"error":"not_found","error_description":"[^"']*"\}';\s*\}/,
    'the public server answers /metrics itself: 404 in the contract format',
  );
  t.notMatch(publicServer.match(/location = \/metrics \{[^}]*\}/)?.[0] ?? '', /proxy_pass/, 'without proxying it');
  for (const file of [rendered, readFileSync(repoPath('infra/nginx/compose.conf'), 'utf8')]) {
    for (const port of Object.values(CONTRACT_METRICS_PORTS)) t.notMatch(file, new RegExp(`:${port}\\b`), `no upstream or listener on operations port ${port}`);
  }
});

// ---------------------------------------------------------------- infra/Dockerfile

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

function dockerfileStages(text: string): Stage[] {
  const joined = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of joined) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2] ?? '', lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

test('infra/Dockerfile: multi-stage, locked install, non-root, one target per service', async (t) => {
  const text = readFileSync(repoPath('infra/Dockerfile'), 'utf8');
  const stages = dockerfileStages(text);
  const stage = (name: string) => stages.find((s) => s.name === name);
  t.ok(stages.length >= 4, `multi-stage (${stages.length} stages)`);
  t.match(text, /pnpm install --frozen-lockfile/, 'installs exactly the lockfile');
  t.match(text, /--prod/, 'the runtime gets production dependencies only');
  t.ok(existsSync(repoPath('infra/Dockerfile.dockerignore')), 'a dockerignore beside it');
  const runtime = stage('runtime');
  t.ok(runtime, 'a runtime stage');
  t.ok(
    runtime?.lines.some((line) => /^USER\s+(node|\d{3,})$/.test(line)),
    'runs as a non-root user',
  );
  const runtimeEnv = (runtime?.lines ?? [])
    .filter((line) => line.startsWith('ENV '))
    .flatMap((line) => [...line.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]!));
  t.ok(runtimeEnv.includes('NODE_ENV'), 'NODE_ENV set in the image');
  for (const service of SERVICES) {
    t.same(unknownSettings(service, runtimeEnv), [], `image ENV is read by ${service}`);
    const target = stage(service);
    t.ok(target, `target ${service}`);
    t.equal(target?.from, 'runtime', `${service} builds on the runtime stage`);
    const cmd = target?.lines.find((line) => line.startsWith('CMD '));
    t.same(cmd ? JSON.parse(cmd.slice(4)) : undefined, SERVICE_COMMANDS[service], `${service}: CMD is ${SERVICE_COMMANDS[service].join(' ')}`);
    t.ok(target?.lines.includes(`EXPOSE ${CONTRACT_PORTS[service]}`), `${service}: EXPOSE ${CONTRACT_PORTS[service]}`);
    t.ok(target?.lines.includes(`EXPOSE ${CONTRACT_METRICS_PORTS[service]}`), `${service}: EXPOSE ${CONTRACT_METRICS_PORTS[service]} (operations)`);
    const health = target?.lines.find((line) => line.startsWith('HEALTHCHECK '));
    t.match(health ?? '', /\/healthz/, `${service}: HEALTHCHECK on /healthz`);
    t.match(
      health ?? '',
      new RegExp(`process\\.env\\.${PORT_SETTINGS[service]}\\|\\|${CONTRACT_PORTS[service]}`),
      `${service}: healthcheck follows ${PORT_SETTINGS[service]}`,
    );
  }
});

// ---------------------------------------------------------------- infra/k8s

type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: unknown };
};
type Probe = { httpGet?: { path?: string; port?: string | number } };
type Container = {
  command?: unknown;
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
};
type PeerSelector = { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: { matchLabels?: Record<string, string> } };
type K8sObject = {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    selector?: { matchLabels?: Record<string, string> } & Record<string, unknown>;
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: { terminationGracePeriodSeconds?: number; securityContext?: { runAsNonRoot?: boolean }; containers?: Container[] };
    };
    ports?: { port: number; targetPort: string | number }[];
    scaleTargetRef?: { kind: string; name: string };
    podSelector?: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: { from?: PeerSelector[]; ports?: { protocol?: string; port: string | number }[] }[];
    minReplicas?: number;
  };
};

const k8sDir = repoPath('infra/k8s');
const k8sFiles = readdirSync(k8sDir).filter((file) => file.endsWith('.yaml'));
const k8sObjects: K8sObject[] = k8sFiles
  .filter((file) => file !== 'kustomization.yaml')
  .flatMap((file) => parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((doc) => doc.toJS() as K8sObject))
  .filter((object) => object !== null);

function selects(selector: Record<string, unknown> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || !labels || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

test('infra/k8s: a Deployment per service with the entry point, settings, probes and drain', async (t) => {
  const kustomization = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  t.same(
    [...kustomization.resources].sort(),
    k8sFiles.filter((file) => file !== 'kustomization.yaml').sort(),
    'kustomization lists every manifest',
  );
  const configMaps = new Map(k8sObjects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
  for (const service of SERVICES) {
    const deployment = k8sObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === `keygate-${service}`);
    t.ok(deployment, `Deployment keygate-${service}`);
    const pod = deployment?.spec?.template?.spec;
    const container = pod?.containers?.[0];
    t.equal(pod?.containers?.length, 1, `${service}: one container`);
    t.same(container?.command, SERVICE_COMMANDS[service], `${service}: runs ${SERVICE_COMMANDS[service].join(' ')}`);
    const env = container?.env ?? [];
    t.same(
      unknownSettings(
        service,
        env.map((e) => e.name),
      ),
      [],
      `${service}: every variable is a ${service} setting`,
    );
    t.equal(env.find((e) => e.name === 'NODE_ENV')?.value, 'production', `${service}: NODE_ENV=production`);
    const required = service === 'auth' ? SECRETS : ['DATABASE_URL', 'REDIS_URL', 'GATEWAY_SECRET'];
    for (const secret of SECRETS) {
      const entry = env.find((e) => e.name === secret);
      if (required.includes(secret)) t.ok(entry?.valueFrom?.secretKeyRef, `${service}: ${secret} from a secretKeyRef`);
      if (entry) t.equal(entry.value, undefined, `${service}: ${secret} is never a literal`);
    }
    for (const entry of env) {
      const ref = entry.valueFrom?.configMapKeyRef;
      if (ref)
        t.ok(
          configMaps.get(ref.name)?.[ref.key] !== undefined,
          `${service}: ${entry.name} refers to an existing ConfigMap key ${ref.name}/${ref.key}`,
        );
    }
    const port = CONTRACT_PORTS[service];
    const metricsPort = CONTRACT_METRICS_PORTS[service];
    t.same(
      container?.ports,
      [
        { name: 'http', containerPort: port },
        { name: 'metrics', containerPort: metricsPort },
      ],
      `${service}: containerPorts http ${port} and metrics ${metricsPort}`,
    );
    t.equal(env.find((e) => e.name === PORT_SETTINGS[service])?.value, String(port), `${service}: ${PORT_SETTINGS[service]}=${port}`);
    t.equal(env.find((e) => e.name === 'METRICS_PORT')?.value, String(metricsPort), `${service}: METRICS_PORT=${metricsPort}`);
    t.equal(env.find((e) => e.name === 'METRICS_HOST')?.value, '0.0.0.0', `${service}: METRICS_HOST=0.0.0.0 (Prometheus scrapes the pod; the NetworkPolicy admits only it)`);
    const portName = container?.ports?.[0]?.name;
    t.equal(container?.readinessProbe?.httpGet?.path, '/readyz', `${service}: readiness on /readyz`);
    t.equal(container?.livenessProbe?.httpGet?.path, '/healthz', `${service}: liveness on /healthz`);
    for (const probe of [container?.readinessProbe, container?.livenessProbe])
      t.ok(probe?.httpGet?.port === portName || probe?.httpGet?.port === port, `${service}: probe on the service port`);
    // The endpoint is removed at the same time as SIGTERM is sent: the pod must keep serving
    // while that spreads, by a preStop sleep or its own drain delay, or new connections are reset.
    const preStop = container?.lifecycle?.preStop?.exec?.command ?? [];
    const preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
    const drainDelayMs = Number(env.find((e) => e.name === 'SHUTDOWN_DRAIN_DELAY_MS')?.value ?? 0);
    t.ok(
      preStopSeconds + drainDelayMs / 1000 >= 5,
      `${service}: serves at least 5 s after termination starts (preStop ${preStopSeconds} s, SHUTDOWN_DRAIN_DELAY_MS ${drainDelayMs})`,
    );
    const budget = shutdownSeconds(service, (setting) => env.find((e) => e.name === setting)?.value);
    const grace = pod?.terminationGracePeriodSeconds ?? 30;
    t.ok(
      grace > preStopSeconds + budget,
      `${service}: terminationGracePeriodSeconds ${grace} > preStop ${preStopSeconds} s + drain delay and SHUTDOWN_TIMEOUT_MS ${budget} s`,
    );
    t.equal(pod?.securityContext?.runAsNonRoot, true, `${service}: runAsNonRoot`);
    t.equal(container?.securityContext?.allowPrivilegeEscalation, false, `${service}: no privilege escalation`);
    const podLabels = deployment?.spec?.template?.metadata?.labels;
    t.ok(selects(deployment?.spec?.selector?.matchLabels, podLabels), `${service}: the Deployment selects its pods`);
    const svc = k8sObjects.find((o) => o.kind === 'Service' && selects(o.spec?.selector, podLabels));
    t.ok(svc, `${service}: a Service selects the pods`);
    t.ok(
      svc?.spec?.ports?.some((p) => p.port === port && (p.targetPort === portName || p.targetPort === port)),
      `${service}: Service port ${port} targets the container`,
    );
    t.ok(
      svc?.spec?.ports?.some((p) => p.port === metricsPort && p.targetPort === 'metrics'),
      `${service}: Service port ${metricsPort} named for scraping targets the metrics port`,
    );
    const pdb = k8sObjects.find(
      (o) => o.kind === 'PodDisruptionBudget' && selects(o.spec?.selector?.matchLabels as Record<string, unknown> | undefined, podLabels),
    );
    t.ok(pdb, `${service}: a PodDisruptionBudget covers the pods`);
  }
  for (const service of ['gateway', 'auth'] as const) {
    const hpa = k8sObjects.find(
      (o) =>
        o.kind === 'HorizontalPodAutoscaler' &&
        o.spec?.scaleTargetRef?.kind === 'Deployment' &&
        o.spec.scaleTargetRef.name === `keygate-${service}`,
    );
    t.ok(hpa, `${service}: a HorizontalPodAutoscaler`);
    t.ok((hpa?.spec?.minReplicas ?? 0) >= 2, `${service}: at least 2 replicas`);
  }
  const gatewayEnv =
    k8sObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'keygate-gateway')?.spec?.template?.spec?.containers?.[0]?.env ??
    [];
  for (const [setting, service] of [
    ['AUTH_URL', 'auth'],
    ['ORDERS_URL', 'orders'],
    ['NOTIFICATIONS_URL', 'notifications'],
  ] as const) {
    t.equal(
      gatewayEnv.find((e) => e.name === setting)?.value,
      `http://keygate-${service}:${CONTRACT_PORTS[service]}`,
      `gateway: ${setting} is the ${service} Service`,
    );
  }
  t.notOk(
    k8sObjects.some((o) => o.kind === 'Secret'),
    'no Secret is committed; they are created by the operator and referenced',
  );
});

test('infra/k8s: NetworkPolicies let only the gateway reach the services, only the ingress the gateway, only Prometheus the metrics ports', async (t) => {
  const gatewayPods = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'keygate-gateway' } } };
  const podLabelsOf = (service: ServiceName) =>
    k8sObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === `keygate-${service}`)?.spec?.template?.metadata?.labels;
  let prometheus: PeerSelector[] | undefined;
  for (const service of SERVICES) {
    const labels = podLabelsOf(service);
    const policies = k8sObjects.filter((o) => o.kind === 'NetworkPolicy' && selects(o.spec?.podSelector?.matchLabels, labels));
    t.equal(policies.length, 1, `${service}: one NetworkPolicy selects its pods`);
    const policy = policies[0]?.spec;
    t.same(policy?.policyTypes, ['Ingress'], `${service}: the policy isolates ingress`);
    const rules = policy?.ingress ?? [];
    for (const rule of rules) {
      t.ok(rule.from && rule.from.length > 0, `${service}: every rule names its peers (no rule admits everyone)`);
      t.ok(rule.ports && rule.ports.length > 0, `${service}: every rule names its ports`);
    }
    const peersOf = (portName: string) => rules.filter((rule) => rule.ports?.some((p) => p.port === portName)).flatMap((rule) => rule.from ?? []);
    t.same(rules.flatMap((rule) => (rule.ports ?? []).map((p) => p.port)).sort(), ['http', 'metrics'], `${service}: only its two named ports`);
    if (service === 'gateway') {
      const peers = peersOf('http');
      t.equal(peers.length, 1, 'gateway: one kind of peer on http');
      t.ok(peers[0]?.namespaceSelector?.matchLabels && !peers[0]?.podSelector, "gateway: http from the ingress controller's namespace");
    } else {
      t.same(peersOf('http'), [gatewayPods], `${service}: http only from the gateway pods`);
    }
    const scrapers = peersOf('metrics');
    t.equal(scrapers.length, 1, `${service}: one kind of peer on metrics`);
    t.ok(scrapers[0]?.namespaceSelector && scrapers[0]?.podSelector, `${service}: metrics from Prometheus's pods in its namespace`);
    prometheus ??= scrapers;
    t.same(scrapers, prometheus, `${service}: the same Prometheus as every other service`);
  }

  // TRUST_PROXY: the gateway believes the ingress controller, auth the gateways; never all of 10/8.
  const trustKey = (service: ServiceName) =>
    k8sObjects
      .find((o) => o.kind === 'Deployment' && o.metadata.name === `keygate-${service}`)
      ?.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === 'TRUST_PROXY')?.valueFrom?.configMapKeyRef?.key;
  const data = k8sObjects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'keygate-config')?.data ?? {};
  const gatewayKey = trustKey('gateway');
  const authKey = trustKey('auth');
  t.ok(gatewayKey && authKey && gatewayKey !== authKey, `gateway and auth trust different peers (${gatewayKey}, ${authKey})`);
  for (const key of [gatewayKey, authKey]) {
    for (const range of (data[key ?? ''] ?? '').split(',')) {
      const bits = Number(range.split('/')[1] ?? 32);
      t.ok(bits >= 16, `${key}: ${range} is at most a /16 (a cluster's pod range, not a whole private range)`);
    }
  }
  for (const service of ['orders', 'notifications'] as const) t.notOk(trustKey(service), `${service}: reads no X-Forwarded-For`);
});

