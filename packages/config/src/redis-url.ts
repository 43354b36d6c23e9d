/**
 * REDIS_URL's Sentinel form, parsed in one place: packages/config validates it at start-up and
 * the bus turns it into ioredis options, so both read it the same way.
 *
 *   redis+sentinel://[:password@]host1[:port],host2[:port],…/<master-name>[?db=N&sentinel_password=…]
 *
 * `password` is the Redis primary's (and replicas') password; the sentinels' own password, when
 * they have one, is `sentinel_password`. A sentinel without a port is on 26379.
 */
export const SENTINEL_PROTOCOL = 'redis+sentinel:';
const DEFAULT_SENTINEL_PORT = 26379;

export interface RedisSentinelTarget {
  sentinels: { host: string; port: number }[];
  /** The master name the sentinels monitor (`sentinel monitor <name> …`). */
  name: string;
  password?: string;
  sentinelPassword?: string;
  db: number;
}

const FORM = /^redis\+sentinel:\/\/(?:([^@/?#]*)@)?([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/i;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;
const USAGE = 'must be redis+sentinel://[:password@]host:port,host:port,…/<master-name>[?db=N&sentinel_password=…]';

/** Whether `url` is the Sentinel form (anything else is an ordinary redis:// or rediss:// URL). */
export function isSentinelUrl(url: string): boolean {
  return url.trim().toLowerCase().startsWith(`${SENTINEL_PROTOCOL}//`);
}

/** The sentinels, master name and credentials a redis+sentinel:// URL names; throws a one-line reason. */
export function parseSentinelUrl(url: string): RedisSentinelTarget {
  const match = FORM.exec(url.trim());
  if (!match) throw new Error(USAGE);
  const [, auth, hosts = '', rawName = '', query = ''] = match;
  const sentinels = hosts.split(',').map((entry) => {
    const hostPort = HOST_PORT.exec(entry.trim());
    const port = hostPort?.[2] === undefined ? DEFAULT_SENTINEL_PORT : Number(hostPort[2]);
    if (!hostPort?.[1] || port < 1 || port > 65_535) throw new Error(`has a bad sentinel address "${entry}" (${USAGE})`);
    return { host: hostPort[1].replace(/^\[|\]$/g, ''), port };
  });
  const name = decodeURIComponent(rawName);
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (key !== 'db' && key !== 'sentinel_password') throw new Error(`has an unknown parameter "${key}" (only db and sentinel_password)`);
  }
  const dbText = params.get('db') ?? '0';
  if (!/^\d{1,2}$/.test(dbText)) throw new Error(`has db=${dbText}: must be a database number 0-99`);
  const target: RedisSentinelTarget = { sentinels, name, db: Number(dbText) };
  // `user:password@` is accepted for symmetry with redis://, but Sentinel setups authenticate by password only.
  const password = auth === undefined ? '' : decodeURIComponent(auth.slice(auth.indexOf(':') + 1));
  if (password !== '') target.password = password;
  const sentinelPassword = params.get('sentinel_password');
  if (sentinelPassword !== null && sentinelPassword !== '') target.sentinelPassword = sentinelPassword;
  return target;
}
