/**
 * The services manifest (services.json) agrees with the code and with the deployment files that
 * cannot be generated from it. Files generated from it (infra/generate.mjs) are current; each
 * service reads the settings the manifest names, with its ports as defaults; docker-compose.yml,
 * infra/Dockerfile, infra/k8s and the scale-test harness run its entry points with settings the
 * service actually reads, and keep secrets out of the files. A renamed setting, entry point or
 * port fails here instead of being ignored at run time.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { gatewayUpstreams } from '@keygate/config';
import { composeInstances, generatedFiles, renderDockerfile } from '../../infra/generate.mjs';
import { INTERNAL_SERVICES, RESENDABLE_SERVICES, renderKeygateConf } from '../../infra/nginx/render.mjs';
import { mainConf } from './harness/nginx.js';
import { MANIFEST, SERVICES, instanceEnv, repoPath, serviceCommand, serviceEntry, type ServiceName } from './harness/services.js';

interface SettingLike {
  env: string;
  parse(raw: string | undefined): unknown;
}

interface ConfigModule {
  loadConfig(env: Record<string, string>): unknown;
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

/** Each manifest service's built config module, found by its name as the stack finds it. */
const CONFIGS = new Map<ServiceName, ConfigModule & Record<string, unknown>>(
  await Promise.all(
    SERVICES.map(async (service) => [service, (await import(pathToFileURL(repoPath(`services/${service}/dist/config.js`)).href)) as ConfigModule & Record<string, unknown>] as const),
  ),
);
const SETTINGS = new Map([...CONFIGS].map(([service, module]) => [service, settingsOf(module)]));
const settings = (service: ServiceName) => SETTINGS.get(service) ?? new Map<string, SettingLike>();
const config = (service: ServiceName) => CONFIGS.get(service)!;

/** Secrets: only ever by reference (compose `${VAR:?}` from .env, k8s secretKeyRef). */
const SECRETS = ['DATABASE_URL', 'REDIS_URL', 'KEY_ENCRYPTION_KEY', 'GATEWAY_SECRET', 'ADMIN_PASSWORD'];

/**
 * Seconds a stopping instance may take at most, from SIGTERM to exit: its drain delay (serving
 * while balancers stop routing) plus its shutdown timeout, from `value(name)` or the defaults.
 */
function shutdownSeconds(service: ServiceName, value: (name: string) => string | undefined): number {
  const setting = (name: string) => Number(value(name) ?? settings(service).get(name)?.parse(undefined));
  return (setting('SHUTDOWN_DRAIN_DELAY_MS') + setting('SHUTDOWN_TIMEOUT_MS')) / 1000;
}

function unknownSettings(service: ServiceName, names: Iterable<string>): string[] {
  return [...names].filter((name) => !settings(service).has(name));
}

/** The service a command runs: exactly `node <its start script's flags> services/<name>/dist/main.js`. */
function serviceOfCommand(command: unknown): ServiceName | undefined {
  if (!Array.isArray(command)) return undefined;
  return SERVICES.find((service) => JSON.stringify(serviceCommand(service)) === JSON.stringify(command));
}

test('files generated from the services manifest are current (node infra/generate.mjs)', async (t) => {
  for (const [path, text] of Object.entries(generatedFiles())) t.equal(readFileSync(repoPath(path), 'utf8'), text, `${path} is what generate.mjs writes`);
});

test('each service reads the settings the manifest names, with its ports as defaults', async (t) => {
  for (const service of SERVICES) {
    const entry = serviceEntry(service);
    t.ok(settings(service).size > 10, `${service}: settings spec found (${settings(service).size} settings)`);
    t.equal(settings(service).get(entry.portSetting)?.parse(undefined), entry.port, `${entry.portSetting} defaults to ${entry.port}`);
    t.equal(settings(service).get('METRICS_PORT')?.parse(undefined), entry.metricsPort, `${service}: METRICS_PORT defaults to ${entry.metricsPort}`);
    t.equal(settings(service).get('METRICS_HOST')?.parse(undefined), '127.0.0.1', `${service}: the operations listener is on loopback unless told otherwise`);
    t.equal(settings(service).has('TRUST_PROXY'), entry.trustProxy, `${service}: reads TRUST_PROXY exactly when the manifest says trustProxy`);
    t.equal(existsSync(repoPath(`migrations/${service}`)), entry.migrations, `${service}: migrations/${service} exists exactly when the manifest says migrations`);
    for (const [env, message] of [
      [{ METRICS_PORT: '70000' }, /^Invalid setting METRICS_PORT: must be between 0 and 65535, got 70000$/],
      [{ METRICS_HOST: 'metrics host' }, /^Invalid setting METRICS_HOST: must be an IP address or a host name, got "metrics host"$/],
      [{ [entry.portSetting]: '9000', METRICS_PORT: '9000' }, new RegExp(`^Invalid setting METRICS_PORT: must differ from ${entry.portSetting} \\(9000\\)`)],
    ] as const) {
      t.throws(() => config(service).loadConfig({ NODE_ENV: 'test', ...env }), { message }, `${service}: refuses ${JSON.stringify(env)} with one line naming the setting`);
    }
    t.ok(existsSync(repoPath(entry.entryPoint)), `${entry.entryPoint} exists (built)`);
    t.ok(existsSync(repoPath(`services/${service}/src/main.ts`)), `services/${service}/src/main.ts exists`);
  }
  t.ok(existsSync(repoPath('services/auth/dist/cli.js')), 'the auth CLI the rotation test runs exists');
  const references = (JSON.parse(readFileSync(repoPath('tsconfig.json'), 'utf8')) as { references: { path: string }[] }).references.map((ref) => ref.path);
  for (const service of SERVICES) t.ok(references.includes(`services/${service}`), `tsconfig.json builds services/${service} (pnpm build)`);
  for (const { name, upstreamSetting, port: own } of gatewayUpstreams()) {
    t.equal(settings('gateway').get(upstreamSetting)?.parse(undefined), `http://127.0.0.1:${own}`, `the gateway reads ${upstreamSetting}, default ${name}'s port`);
    t.equal(INTERNAL_SERVICES[name], upstreamSetting, `nginx's render.mjs reads the same manifest: ${name} behind ${upstreamSetting}`);
  }
  t.same(Object.keys(INTERNAL_SERVICES).sort(), gatewayUpstreams().map((service) => service.name).sort(), 'nginx balances exactly the services behind the gateway');
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
    upstreams: Object.fromEntries(gatewayUpstreams().map((service, index) => [service.upstreamSetting, `http://127.0.0.1:${index + 2}`])),
  };
  for (const service of SERVICES) {
    const env = instanceEnv(shared, { service, instanceName: `${service}-1`, port: 1234, metricsPort: 5678, dataDir: '/tmp/x' });
    t.same(unknownSettings(service, Object.keys(env)), [], `${service}: every variable the harness sets is a setting`);
    t.equal(env[serviceEntry(service).portSetting], '1234', `${service}: port through ${serviceEntry(service).portSetting}`);
    t.equal(env.METRICS_PORT, '5678', `${service}: its own operations port (several instances share the machine)`);
    t.equal(env.METRICS_HOST, '127.0.0.1', `${service}: operations listener on loopback`);
    t.equal(env.NODE_ENV, 'production', `${service}: production mode, as deployed`);
    // The harness's environment must pass the service's own validation, production checks included.
    t.doesNotThrow(() => config(service).loadConfig(env), `${service}: loadConfig accepts the harness environment`);
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

test('docker-compose.yml runs the manifest\'s instances with settings the services read', async (t) => {
  const byService = new Map<ServiceName, string[]>();
  for (const [name, definition] of Object.entries(compose.services)) {
    const service = serviceOfCommand(definition.command);
    if (definition.build)
      t.ok(service, `${name}: built from our image, so it runs one of the entry points (${JSON.stringify(definition.command)})`);
    if (!service) continue;
    const entry = serviceEntry(service);
    byService.set(service, [...(byService.get(service) ?? []), name]);
    const env = definition.environment ?? {};
    t.same(unknownSettings(service, Object.keys(env)), [], `${name}: every variable is a ${service} setting`);
    t.equal(env.NODE_ENV, 'production', `${name}: NODE_ENV=production`);
    for (const secret of SECRETS) {
      if (!(secret in env)) continue;
      t.match(String(env[secret]), /\$\{[A-Z_]+:\?[^}]*\}/, `${name}: ${secret} comes from a required .env variable, never a literal`);
    }
    if (entry.portSetting in env) t.equal(String(env[entry.portSetting]), String(entry.port), `${name}: port ${entry.port}`);
    // Prometheus scrapes from its own container: the operations listener must take the compose
    // network's connections, and must never be published to the host.
    t.equal(env.METRICS_HOST, '0.0.0.0', `${name}: METRICS_HOST=0.0.0.0 so Prometheus reaches it on the compose network`);
    t.equal(String(env.METRICS_PORT), String(entry.metricsPort), `${name}: METRICS_PORT ${entry.metricsPort}`);
    t.same(definition.ports ?? [], [], `${name}: publishes no port to the host (nginx and Prometheus reach it on the compose network)`);
    t.match(JSON.stringify(definition.healthcheck?.test), new RegExp(`127\\.0\\.0\\.1:${entry.port}/healthz`), `${name}: healthcheck on /healthz:${entry.port}`);
    t.equal(definition.build?.dockerfile, 'infra/Dockerfile', `${name}: built from infra/Dockerfile`);
    t.equal(definition.build?.target, entry.dockerTarget, `${name}: image target ${entry.dockerTarget}`);
    t.equal(definition.depends_on?.postgres?.condition, 'service_healthy', `${name}: waits for a healthy PostgreSQL`);
    t.equal(definition.depends_on?.redis?.condition, 'service_healthy', `${name}: waits for a healthy Redis`);
    const budget = shutdownSeconds(service, (setting) => (setting in env ? String(env[setting]) : undefined));
    const grace = /^(\d+)s$/.exec(definition.stop_grace_period ?? '')?.[1];
    t.ok(Number(grace) > budget, `${name}: stop_grace_period ${definition.stop_grace_period} > drain delay + SHUTDOWN_TIMEOUT_MS (${budget} s)`);
  }
  // The instance names are what the generated nginx and Prometheus files name.
  for (const entry of MANIFEST) t.same(byService.get(entry.name), composeInstances(entry), `${entry.name}: instances ${composeInstances(entry).join(', ')}`);
  for (const gateway of byService.get('gateway') ?? []) {
    const env = compose.services[gateway]?.environment ?? {};
    for (const { name, upstreamSetting, port: own } of gatewayUpstreams()) t.equal(env[upstreamSetting], `http://lb:${own}`, `${gateway}: ${upstreamSetting} is nginx's ${name} server`);
  }
  for (const store of ['postgres', 'redis']) t.ok(compose.services[store]?.healthcheck?.test, `${store} has a healthcheck`);
  // Production auth refuses to start without SMTP_URL: compose gives it Mailpit (UI on loopback only).
  for (const auth of byService.get('auth') ?? []) {
    t.match(String(compose.services[auth]?.environment?.SMTP_URL), /^\$\{SMTP_URL:-smtp:\/\/mailpit:1025\}$/, `${auth}: SMTP_URL defaults to the compose Mailpit`);
  }
  t.ok(compose.services.mailpit?.healthcheck?.test, 'mailpit has a healthcheck');
  t.ok((compose.services.mailpit?.ports ?? []).every((port) => String(port).startsWith('127.0.0.1:')), 'Mailpit\'s UI is published on 127.0.0.1 only');
  const lb = compose.services.lb;
  t.ok(lb?.volumes?.includes('./infra/nginx/compose.conf:/etc/nginx/conf.d/default.conf:ro'), 'nginx `lb` mounts the generated infra/nginx/compose.conf');
  t.ok(lb?.ports?.some((mapping) => /:80$/.test(mapping)), 'nginx publishes the public server');
  for (const { name, port: own } of gatewayUpstreams()) t.notOk(lb?.ports?.some((mapping) => mapping.endsWith(`:${own}`)), `never publishes the internal ${name} server`);
  const prometheus = compose.services.prometheus;
  t.ok(prometheus?.volumes?.includes('./infra/prometheus/compose.yml:/etc/prometheus/prometheus.yml:ro'), '`prometheus` mounts the generated infra/prometheus/compose.yml');
  for (const mapping of prometheus?.ports ?? []) t.match(mapping, /^127\.0\.0\.1:/, `its UI is published on the host's loopback only (${mapping})`);
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
    for (const { metricsPort: ops } of MANIFEST) t.notMatch(file, new RegExp(`:${ops}\\b`), `no upstream or listener on operations port ${ops}`);
  }
});

/** The server blocks of a rendered configuration, by their heading comment's first word after "# ". */
function serverBlock(rendered: string, heading: string): string {
  const start = rendered.indexOf(heading);
  return start < 0 ? '' : rendered.slice(start, rendered.indexOf('\n}\n', start));
}

test('nginx sends one Idempotency-Key per request and resends a sent POST only where a repeat is safe', async (t) => {
  const rendered = renderKeygateConf({
    publicListen: '80',
    gateways: ['gateway-1:8080', 'gateway-2:8080'],
    internal: Object.keys(INTERNAL_SERVICES).map((name, index) => ({ name, listen: String(8081 + index), servers: [`${name}-1:${8081 + index}`] })),
  });
  t.match(rendered, /map \$http_idempotency_key \$keygate_idempotency_key \{\s*""\s+\$request_id;\s*default\s+\$http_idempotency_key;\s*\}/, "the client's key, else $request_id");
  const servers = [serverBlock(rendered, '# Public entry point'), ...Object.keys(INTERNAL_SERVICES).map((name) => serverBlock(rendered, `# Internal: ${name} `))];
  for (const server of servers) {
    t.ok(server.length > 0, `found ${server.split('\n')[0]}`);
    t.match(server, /\n {4}proxy_set_header Idempotency-Key \$keygate_idempotency_key;/, 'the server sets it, replacing whatever the client sent');
  }
  // The public server's resend location, as nginx would match it (PCRE; this one is JS-compatible).
  const publicServer = servers[0]!;
  const pattern = /location ~ (\S+) \{\s*proxy_next_upstream error timeout non_idempotent;/.exec(publicServer)?.[1];
  t.ok(pattern, 'the public server has one resend location');
  const resends = new RegExp(pattern ?? '^$');
  const authResent = ['/auth/login', '/auth/login/mfa', '/auth/refresh', '/auth/logout', '/oauth/token', '/oauth/revoke', '/oauth/introspect', '/admin/users/4b1c'];
  const neverResent = ['/auth/register', '/auth/logout-all', '/auth/password', '/auth/password-reset', '/auth/verify-email/resend', '/auth/login/x', '/auth/loginx', '/oauth/tokens', '/oauth/authorize', '/oauth/authorize/consent', '/ordersx', '/auth/refresh/x'];
  for (const path of ['/orders', '/orders/4b1c', '/notifications', '/notifications/4b1c/read', ...authResent]) {
    t.ok(resends.test(path), `${path}: resent after a reset (keyed, or a repeat does nothing)`);
  }
  for (const path of neverResent) t.notOk(resends.test(path), `${path}: never sent twice`);
  t.equal((publicServer.match(/non_idempotent/g) ?? []).length, 1, 'nowhere else on the public server');
  // The internal auth server resends the same auth calls (the gateways' hop to a draining auth).
  const authServer = serverBlock(rendered, '# Internal: auth ');
  const authPattern = /location ~ (\S+) \{\s*proxy_next_upstream error timeout non_idempotent;/.exec(authServer)?.[1];
  t.ok(authPattern, 'the internal auth server has one resend location');
  const authResends = new RegExp(authPattern ?? '^$');
  for (const path of authResent) t.ok(authResends.test(path), `internal auth: ${path} resent`);
  for (const path of neverResent) t.notOk(authResends.test(path), `internal auth: ${path} never sent twice`);
  for (const name of Object.keys(INTERNAL_SERVICES)) {
    const root = /location \/ \{\s*(?:#[^\n]*\n\s*)*proxy_next_upstream ([^;]+);/.exec(serverBlock(rendered, `# Internal: ${name} `))?.[1];
    t.equal(root, RESENDABLE_SERVICES.has(name) ? 'error timeout non_idempotent' : 'error timeout', `internal ${name}: location / resends POSTs only if the service honours keys`);
  }
  t.same([...RESENDABLE_SERVICES].sort(), ['notifications', 'orders'], 'the services that honour Idempotency-Key (services/orders routes, notifications is idempotent)');
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
    const { dockerTarget, port: own, metricsPort: ops, portSetting } = serviceEntry(service);
    const target = stage(dockerTarget);
    t.ok(target, `target ${dockerTarget}`);
    t.equal(target?.from, 'runtime', `${service} builds on the runtime stage`);
    const cmd = target?.lines.find((line) => line.startsWith('CMD '));
    t.same(cmd ? JSON.parse(cmd.slice(4)) : undefined, serviceCommand(service), `${service}: CMD is ${serviceCommand(service).join(' ')}`);
    const exposed = (target?.lines ?? []).filter((line) => line.startsWith('EXPOSE ')).flatMap((line) => line.split(/\s+/).slice(1));
    t.ok(exposed.includes(String(own)), `${service}: EXPOSE ${own}`);
    t.ok(exposed.includes(String(ops)), `${service}: EXPOSE ${ops} (operations)`);
    t.match(text, new RegExp(`--filter '@keygate/${service}\\.\\.\\.'`), `${service}: its production dependencies are installed in the prune stage`);
    const health = target?.lines.find((line) => line.startsWith('HEALTHCHECK '));
    t.match(health ?? '', /\/healthz/, `${service}: HEALTHCHECK on /healthz`);
    t.match(
      health ?? '',
      new RegExp(`process\\.env\\.${portSetting}\\|\\|${own}`),
      `${service}: healthcheck follows ${portSetting}`,
    );
  }
});

test('infra/Dockerfile: the gateway is the default (last) target; a service may keep its own stage', async (t) => {
  const stages = dockerfileStages(readFileSync(repoPath('infra/Dockerfile'), 'utf8'));
  t.equal(stages.at(-1)?.name, serviceEntry('gateway').dockerTarget, 'a plain docker build builds the gateway');
  const template = readFileSync(repoPath('infra/Dockerfile.template'), 'utf8');
  const billing = { name: 'billing', port: 8084, metricsPort: 9084, dockerTarget: 'billing' };
  const own = 'FROM runtime AS billing\nRUN echo its own step\nCMD ["node", "services/billing/dist/main.js"]\n';
  const rendered = renderDockerfile([billing], template, (name) => (name === 'billing' ? own : undefined));
  t.ok(rendered.endsWith(own), 'services/<name>/Dockerfile.stage is used as it is');
  t.match(rendered, "--filter '@keygate/billing...'", 'and the service is still in the prune stage');
  t.throws(() => renderDockerfile([billing], template, () => 'FROM runtime AS other\n'), /must start with "FROM runtime AS billing"/, 'a stage for another target is refused');
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
    t.same(container?.command, serviceCommand(service), `${service}: runs ${serviceCommand(service).join(' ')}`);
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
    if (service === 'auth') t.ok(env.find((e) => e.name === 'SMTP_URL')?.valueFrom?.secretKeyRef, 'auth: SMTP_URL (required in production, may hold credentials) from a secretKeyRef');
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
    const { port, metricsPort, portSetting } = serviceEntry(service);
    t.same(
      container?.ports,
      [
        { name: 'http', containerPort: port },
        { name: 'metrics', containerPort: metricsPort },
      ],
      `${service}: containerPorts http ${port} and metrics ${metricsPort}`,
    );
    t.equal(env.find((e) => e.name === portSetting)?.value, String(port), `${service}: ${portSetting}=${port}`);
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
  for (const { name: service, replicas } of MANIFEST.filter((entry) => entry.replicas >= 2)) {
    const hpa = k8sObjects.find(
      (o) =>
        o.kind === 'HorizontalPodAutoscaler' &&
        o.spec?.scaleTargetRef?.kind === 'Deployment' &&
        o.spec.scaleTargetRef.name === `keygate-${service}`,
    );
    t.ok(hpa, `${service}: a HorizontalPodAutoscaler`);
    t.ok((hpa?.spec?.minReplicas ?? 0) >= replicas, `${service}: at least ${replicas} replicas (the manifest's)`);
  }
  const gatewayEnv =
    k8sObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'keygate-gateway')?.spec?.template?.spec?.containers?.[0]?.env ??
    [];
  for (const { name: service, upstreamSetting, port } of gatewayUpstreams()) {
    t.equal(gatewayEnv.find((e) => e.name === upstreamSetting)?.value, `http://keygate-${service}:${port}`, `gateway: ${upstreamSetting} is the ${service} Service`);
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
  for (const { name } of MANIFEST.filter((entry) => !entry.trustProxy)) t.notOk(trustKey(name), `${name}: reads no X-Forwarded-For`);
});

