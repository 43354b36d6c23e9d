/**
 * Multi-host DATABASE_URL for node-postgres, which has none (pg 8.23 and pg-connection-string
 * 2.14 read `postgres://h1:5432,h2:5432/db` as one invalid host and ignore
 * `target_session_attrs`): the libpq form
 *
 *   postgres://user:pass@h1:5432,h2:5432/db?target_session_attrs=read-write
 *
 * Each new pool connection goes to the host that last worked; when that one refuses, or (with
 * `read-write`) turns out to be a standby (`transaction_read_only` on, as after a failover that
 * demoted it), the pool moves on to the next host in order and that connection attempt fails
 * (503 with Retry-After for its request). So a primary switch costs the requests that meet the
 * dead or demoted host, then every new connection goes to the new primary.
 */
import pg from 'pg';

export type TargetSessionAttrs = 'any' | 'read-write';

export interface MultiHostUrl {
  /** One connection string per host, in the order given, without target_session_attrs. */
  urls: string[];
  targetSessionAttrs: TargetSessionAttrs;
}

const URL_PARTS = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/;
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;

/** Undefined for a plain single-host URL without target_session_attrs (handed to pg as is). */
export function parseMultiHostUrl(url: string): MultiHostUrl | undefined {
  const parts = URL_PARTS.exec(url);
  if (!parts) return undefined;
  const [, scheme, userinfo = '', hostList = '', rest = ''] = parts;
  const queryStart = rest.indexOf('?');
  const path = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const query = new URLSearchParams(queryStart === -1 ? '' : rest.slice(queryStart + 1));
  const attrs = query.get('target_session_attrs');
  const hosts = hostList.split(',');
  if (hosts.length === 1 && attrs === null) return undefined;
  if (attrs !== null && attrs !== 'any' && attrs !== 'read-write') {
    throw new Error(`DATABASE_URL: target_session_attrs=${attrs} is not supported (any or read-write)`);
  }
  for (const host of hosts) if (!HOST.test(host)) throw new Error(`DATABASE_URL: invalid host ${JSON.stringify(host)} in the host list`);
  query.delete('target_session_attrs');
  const search = query.toString();
  return {
    urls: hosts.map((host) => `${scheme}${userinfo}${host}${path}${search === '' ? '' : `?${search}`}`),
    targetSessionAttrs: attrs === 'read-write' ? 'read-write' : 'any',
  };
}

/** The pool options that implement `parsed`: a Client class choosing the host, and a check of each new connection. */
export function multiHostPoolOptions(parsed: MultiHostUrl): Pick<pg.PoolConfig, 'Client' | 'verify'> {
  const { urls } = parsed;
  let current = 0;
  const moveOnFrom = (index: number) => {
    // Only the first failure of a host moves the pool on: concurrent failures do not skip hosts.
    if (current === index) current = (index + 1) % urls.length;
  };
  class FailoverClient extends pg.Client {
    /** The host this client connects to: the one that last worked when it was created. */
    readonly hostIndex: number;

    constructor(config?: pg.ClientConfig) {
      const index = current;
      super({ ...config, connectionString: urls[index] });
      this.hostIndex = index;
    }

    // pg-pool connects with a callback; the promise form is pg's own.
    override connect(): Promise<pg.Client>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
    override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | void {
      const connecting = super.connect().then(
        () => this as pg.Client,
        (err: unknown) => {
          moveOnFrom(this.hostIndex);
          throw err;
        },
      );
      if (!callback) return connecting;
      connecting.then(
        (client) => (callback as (err: null, c: pg.Client) => void)(null, client),
        (err: Error) => (callback as (err: Error) => void)(err),
      );
    }
  }

  const verify =
    parsed.targetSessionAttrs === 'read-write'
      ? (client: pg.PoolClient, done: (err?: Error) => void) => {
          const index = client instanceof FailoverClient ? client.hostIndex : current;
          client.query('show transaction_read_only').then(
            (result: pg.QueryResult<{ transaction_read_only: string }>) => {
              if (result.rows[0]?.transaction_read_only === 'off') return done();
              moveOnFrom(index);
              // 08001, as libpq reports a host that is not read-write: a connection failure (503).
              done(Object.assign(new Error('the database host is read-only (a standby); trying the next host'), { code: '08001' }));
            },
            (err: Error) => {
              moveOnFrom(index);
              done(err);
            },
          );
        }
      : undefined;
  return { Client: FailoverClient, ...(verify ? { verify } : {}) };
}
