/**
 * authctl clients create|list|rotate-secret|delete: the OAuth client registry from the command
 * line, against the service's own database settings. A secret is printed once (and only with
 * create or rotate-secret); `--json` gives machine-readable output.
 */
import { parseArgs } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import { Registry } from 'prom-client';
import { createBus } from '@keygate/bus';
import { CliFailure, UsageError, withDatabase, withRefusalsAsFailures } from './support.js';
import type { AuthConfig } from '../config.js';
import { ClientRegistrationError, createClient, listClients, removeClient, rotateClientSecret, validateClientSpec } from '../oauth/clients.js';
import { createAuthMetrics } from '../metrics.js';

/** Warnings and errors of the domain code (a failed revocation publish) go to stderr, one line each. */
const noop = () => {};
const toStderr = (_details: unknown, message?: string) => console.error(`warning: ${message ?? ''}`);
const cliLog = { level: 'warn', fatal: toStderr, error: toStderr, warn: toStderr, info: noop, debug: noop, trace: noop, silent: noop, child: () => cliLog } as unknown as FastifyBaseLogger;

function print(json: boolean, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value) : text);
}

async function create(config: AuthConfig, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      grant: { type: 'string', multiple: true },
      public: { type: 'boolean', default: false },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      scope: { type: 'string', multiple: true },
      'first-party': { type: 'boolean', default: false },
      introspect: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (values.name === undefined) throw new UsageError('clients create needs --name');
  if (values.grant === undefined) throw new UsageError('clients create needs at least one --grant');
  const spec = {
    name: values.name,
    grants: values.grant,
    public: values.public ?? false,
    redirectUris: values['redirect-uri'] ?? [],
    scopes: values.scope ?? [],
    firstParty: values['first-party'] ?? false,
    introspect: values.introspect ?? false,
    postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
  };
  validateClientSpec(spec); // before opening the database: a mistake is reported at once
  const { client, secret } = await withDatabase(config, (db) => createClient(db, spec));
  const json = values.json ?? false;
  print(
    json,
    { client_id: client.id, ...(secret !== undefined ? { client_secret: secret } : {}) },
    `client_id: ${client.id}\n` + (secret !== undefined ? `client_secret: ${secret}\n(the secret is shown only now; store it safely)` : '(public client: no secret)'),
  );
}

async function list(config: AuthConfig, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const rows = await withDatabase(config, (db) => listClients(db));
  const view = rows.map((row) => ({
    client_id: row.id,
    name: row.name,
    type: row.public ? 'public' : 'confidential',
    first_party: row.first_party,
    introspect: row.introspect,
    grant_types: row.grant_types,
    redirect_uris: row.redirect_uris,
    post_logout_redirect_uris: row.post_logout_redirect_uris,
    scopes: row.scopes,
    created_at: row.created_at.toISOString(),
  }));
  const table = [['client_id', 'name', 'type', 'party', 'introspect', 'grant_types', 'redirect_uris', 'post_logout_redirect_uris', 'scopes', 'created_at'].join('\t')]
    .concat(
      view.map((c) =>
        [c.client_id, c.name, c.type, c.first_party ? 'first' : 'third', c.introspect ? 'yes' : 'no', c.grant_types.join(','), c.redirect_uris.join(',') || '-', c.post_logout_redirect_uris.join(',') || '-', c.scopes.join(',') || '-', c.created_at].join('\t'),
      ),
    )
    .join('\n');
  print(values.json ?? false, view, table);
}

function onePositional(args: string[], options: { json?: boolean }): { id: string; json: boolean } {
  const { values, positionals } = parseArgs({ args, options: options.json ? { json: { type: 'boolean', default: false } } : {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('give exactly one client_id');
  return { id: positionals[0]!, json: (values as { json?: boolean }).json ?? false };
}

async function rotate(config: AuthConfig, args: string[]): Promise<void> {
  const { id, json } = onePositional(args, { json: true });
  const secret = await withDatabase(config, (db) => rotateClientSecret(db, id));
  if (secret === undefined) throw new CliFailure(`no confidential client with id ${id}`);
  print(json, { client_id: id, client_secret: secret }, `client_id: ${id}\nclient_secret: ${secret}\n(the old secret no longer works; the new one is shown only now)`);
}

async function remove(config: AuthConfig, args: string[]): Promise<void> {
  const { id } = onePositional(args, {});
  // The bus tells running gateways (through Redis) that the client's sessions are revoked.
  const bus = createBus({ redisUrl: config.redisUrl, keyPrefix: config.redisPrefix });
  try {
    const removed = await withDatabase(config, (db) =>
      removeClient({ db, bus, config, log: cliLog, metrics: createAuthMetrics(new Registry()) }, id),
    );
    if (!removed) throw new CliFailure(`no client with id ${id}`);
    console.log(`client ${id} deleted; its sessions and access tokens are revoked`);
  } finally {
    await bus.close();
  }
}

function run(config: AuthConfig, command: string, args: string[]): Promise<void> {
  if (command === 'clients create') return create(config, args);
  if (command === 'clients list') return list(config, args);
  if (command === 'clients rotate-secret') return rotate(config, args);
  if (command === 'clients delete') return remove(config, args);
  throw new UsageError(`unknown command: ${command}`);
}

/** A client spec the registration rules refuse: its message alone, exit 1. */
export function clientsCommand(config: AuthConfig, command: string, args: string[]): Promise<void> {
  return withRefusalsAsFailures([ClientRegistrationError], () => run(config, command, args));
}
