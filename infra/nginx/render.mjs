#!/usr/bin/env node
/**
 * Renders keygate.conf.template for any number of gateway and auth instances. Plain Node, no
 * dependencies, so operators, docker-compose's checked-in copy and the scale-test harness all
 * produce their nginx configuration the same way.
 *
 *   node infra/nginx/render.mjs --public-listen 80 --auth-listen 8081 \
 *     --gateway gateway-1:8080 --gateway gateway-2:8080 --auth auth-1:8081 --auth auth-2:8081 \
 *     [--access-log /dev/stdout] [--fail-timeout 3] > /etc/nginx/conf.d/keygate.conf
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

function serverLines(addresses, failTimeout, what) {
  if (!Array.isArray(addresses) || addresses.length === 0) throw new Error(`at least one ${what} address is required`);
  // One failed connection takes an instance out for failTimeout seconds; 503s never count (see template).
  return addresses
    .map((address) => `    server ${check(ADDRESS, address, `${what} address`)} max_fails=1 fail_timeout=${failTimeout}s;`)
    .join('\n');
}

/**
 * @param {{ publicListen: string, authListen: string, gateways: string[], auths: string[],
 *           accessLog?: string, failTimeoutSeconds?: number, template?: string }} options
 * @returns {string}
 */
export function renderKeygateConf(options) {
  const template = options.template ?? readFileSync(TEMPLATE_PATH, 'utf8');
  const failTimeout = options.failTimeoutSeconds ?? DEFAULT_FAIL_TIMEOUT_SECONDS;
  if (!Number.isInteger(failTimeout) || failTimeout < 1 || failTimeout > 300) throw new Error(`invalid fail timeout: ${failTimeout}`);
  const values = {
    PUBLIC_LISTEN: check(LISTEN, String(options.publicListen), 'public listen address'),
    AUTH_LISTEN: check(LISTEN, String(options.authListen), 'auth listen address'),
    ACCESS_LOG: check(LOG_PATH, options.accessLog ?? '/dev/stdout', 'access log path'),
    GATEWAY_SERVERS: serverLines(options.gateways, failTimeout, 'gateway'),
    AUTH_SERVERS: serverLines(options.auths, failTimeout, 'auth'),
  };
  const rendered = template.replace(/\{\{([A-Z_]+)\}\}/g, (match, name) => {
    if (!(name in values)) throw new Error(`unknown placeholder ${match} in the template`);
    return values[name];
  });
  return rendered;
}

function main() {
  const { values } = parseArgs({
    options: {
      'public-listen': { type: 'string', default: '80' },
      'auth-listen': { type: 'string', default: '8081' },
      gateway: { type: 'string', multiple: true, default: [] },
      auth: { type: 'string', multiple: true, default: [] },
      'access-log': { type: 'string', default: '/dev/stdout' },
      'fail-timeout': { type: 'string', default: String(DEFAULT_FAIL_TIMEOUT_SECONDS) },
    },
    strict: true,
  });
  process.stdout.write(
    renderKeygateConf({
      publicListen: values['public-listen'],
      authListen: values['auth-listen'],
      gateways: values.gateway,
      auths: values.auth,
      accessLog: values['access-log'],
      failTimeoutSeconds: Number(values['fail-timeout']),
    }),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`render.mjs: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
