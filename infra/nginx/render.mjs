#!/usr/bin/env node
/**
 * Renders keygate.conf.template for any number of gateway and auth instances. Plain Node, no
 * dependencies, so operators, docker-compose's checked-in copy and the scale-test harness all
 * produce their nginx configuration the same way. The services behind the gateways (one internal
 * server each) are those of the services manifest (services.json) that have gateway routes.
 *
 *   node infra/nginx/render.mjs --public-listen 80 \
 *     --gateway gateway-1:8080 --gateway gateway-2:8080 \
 *     --auth-listen 8081 --auth auth-1:8081 --auth auth-2:8081 \
 *     [--orders-listen 8082 --orders orders-1:8082 --orders orders-2:8082] \
 *     [--notifications-listen 8083 --notifications notifications-1:8083 ...] \
 *     [--access-log /dev/stdout] [--fail-timeout 3] [--down <instance to drain>] > /etc/nginx/conf.d/keygate.conf
 *
 * (--<service> and --<service>-listen exist for every such service; the listen default is its port.)
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runIfMain } from '../cli.mjs';

export const TEMPLATE_PATH = fileURLToPath(new URL('./keygate.conf.template', import.meta.url));
/**
 * nginx (open source) only learns that an instance is back by trying it again after this long, so
 * a rolling restart waits this long after an instance is ready before stopping the next one.
 */
export const DEFAULT_FAIL_TIMEOUT_SECONDS = 3;

// Whatever lands in the file is checked, so a typo cannot inject nginx directives.
const ADDRESS = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;
const LISTEN = /^(?:(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):)?\d{1,5}$/;
const LOG_PATH = /^(?:off|\/[A-Za-z0-9._/-]+)$/;

function check(pattern, value, what) {
  if (typeof value !== 'string' || !pattern.test(value)) throw new Error(`invalid ${what}: ${JSON.stringify(value)}`);
  return value;
}

function serverLines(addresses, failTimeout, what, down) {
  if (!Array.isArray(addresses) || addresses.length === 0) throw new Error(`at least one ${what} address is required`);
  if (addresses.every((address) => down.has(address))) throw new Error(`every ${what} instance would be down`);
  // One failed connection takes an instance out for failTimeout seconds; 503s never count (see template).
  // `down`: drained before a planned stop, so nginx sends it nothing new (see docs/operations.md).
  return addresses
    .map(
      (address) =>
        `    server ${check(ADDRESS, address, `${what} address`)} max_fails=1 fail_timeout=${failTimeout}s${down.has(address) ? ' down' : ''};`,
    )
    .join('\n');
}

/**
 * The services behind the gateways whose every POST/PATCH honours Idempotency-Key or is
 * idempotent: their internal server lets nginx resend any request after a connection error
 * (`non_idempotent`). Only a service that deduplicates by the key may be listed.
 */
export const RESENDABLE_SERVICES = new Set(['orders', 'notifications']);

export const MANIFEST_PATH = fileURLToPath(new URL('../../services.json', import.meta.url));

/**
 * The services manifest's entries behind the gateways (those with a *_URL setting), read as plain
 * data; @keygate/config validates the same file for the services, and tests/scale/agreement.test.ts
 * checks that both agree.
 */
const ROUTED = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')).services.filter((service) => typeof service.upstreamSetting === 'string');

/** The services that may sit behind an internal server, with the gateway setting that points there. */
export const INTERNAL_SERVICES = Object.fromEntries(ROUTED.map((service) => [service.name, service.upstreamSetting]));

const BLOCK = /# @internal-server-begin\n([\s\S]*?)# @internal-server-end\n/;
// The named locations answering nginx's own errors, written once and placed in every server.
const EDGE_ERRORS = /\n# @edge-errors-begin\n([\s\S]*?)# @edge-errors-end\n/;
const AUTH_ONLY = /\n[ ]*# @auth-only-begin\n([\s\S]*?)[ ]*# @auth-only-end\n/;

function fill(text, values) {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (match, name) => {
    if (!(name in values)) throw new Error(`unknown placeholder ${match} in the template`);
    return values[name];
  });
}

/**
 * @param {{ publicListen: string, gateways: string[],
 *           internal: { name: 'auth' | 'orders' | 'notifications', listen: string, servers: string[] }[],
 *           accessLog?: string, failTimeoutSeconds?: number, down?: string[], template?: string }} options
 * @returns {string}
 */
export function renderKeygateConf(options) {
  const template = options.template ?? readFileSync(TEMPLATE_PATH, 'utf8');
  const failTimeout = options.failTimeoutSeconds ?? DEFAULT_FAIL_TIMEOUT_SECONDS;
  if (!Number.isInteger(failTimeout) || failTimeout < 1 || failTimeout > 300) throw new Error(`invalid fail timeout: ${failTimeout}`);
  const accessLog = check(LOG_PATH, options.accessLog ?? '/dev/stdout', 'access log path');
  const down = new Set((options.down ?? []).map((address) => check(ADDRESS, address, 'down address')));
  const internal = options.internal ?? [];
  if (!internal.some((entry) => entry.name === 'auth')) throw new Error("an internal server for auth is required (the gateways' AUTH_URL)");
  const names = new Set();
  for (const entry of internal) {
    if (!(entry.name in INTERNAL_SERVICES)) throw new Error(`unknown internal service ${JSON.stringify(entry.name)}`);
    if (names.has(entry.name)) throw new Error(`internal service ${entry.name} given twice`);
    names.add(entry.name);
  }
  const edgeErrors = EDGE_ERRORS.exec(template);
  if (!edgeErrors) throw new Error('the template has no @edge-errors block');
  const errorLocations = edgeErrors[1].replace(/\n$/, '');
  const block = BLOCK.exec(template.replace(EDGE_ERRORS, () => ''));
  if (!block) throw new Error('the template has no @internal-server block');
  const servers = internal
    .map((entry) =>
      fill(
        block[1].replace(AUTH_ONLY, (_, locations) => (entry.name === 'auth' ? `\n${locations}` : '')),
        {
          NAME: entry.name,
          SETTING: INTERNAL_SERVICES[entry.name],
          LISTEN: check(LISTEN, String(entry.listen), `${entry.name} listen address`),
          NEXT_UPSTREAM: RESENDABLE_SERVICES.has(entry.name) ? 'error timeout non_idempotent' : 'error timeout',
          ACCESS_LOG: accessLog,
          EDGE_ERRORS: errorLocations,
        },
      ),
    )
    .join('\n');
  const upstreams = internal
    .map((entry) => `upstream keygate_${entry.name} {\n${serverLines(entry.servers, failTimeout, entry.name, down)}\n}`)
    .join('\n\n');
  return fill(
    template.replace(EDGE_ERRORS, () => '').replace(BLOCK, () => servers),
    {
      PUBLIC_LISTEN: check(LISTEN, String(options.publicListen), 'public listen address'),
      ACCESS_LOG: accessLog,
      GATEWAY_SERVERS: serverLines(options.gateways, failTimeout, 'gateway', down),
      INTERNAL_UPSTREAMS: upstreams,
      EDGE_ERRORS: errorLocations,
    },
  );
}

function main() {
  const perService = ROUTED.flatMap((service) => [
    [`${service.name}-listen`, { type: 'string', default: String(service.port) }],
    [service.name, { type: 'string', multiple: true, default: [] }],
  ]);
  const { values } = parseArgs({
    options: {
      'public-listen': { type: 'string', default: '80' },
      gateway: { type: 'string', multiple: true, default: [] },
      ...Object.fromEntries(perService),
      'access-log': { type: 'string', default: '/dev/stdout' },
      'fail-timeout': { type: 'string', default: String(DEFAULT_FAIL_TIMEOUT_SECONDS) },
      down: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  // An internal server for each service given instances (auth is required).
  const internal = Object.keys(INTERNAL_SERVICES)
    .filter((name) => name === 'auth' || values[name].length > 0)
    .map((name) => ({ name, listen: values[`${name}-listen`], servers: values[name] }));
  process.stdout.write(
    renderKeygateConf({
      publicListen: values['public-listen'],
      gateways: values.gateway,
      internal,
      accessLog: values['access-log'],
      failTimeoutSeconds: Number(values['fail-timeout']),
      down: values.down,
    }),
  );
}

runIfMain(import.meta.url, main);
