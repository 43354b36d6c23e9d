/**
 * The one place a Redis connection is opened, so a new way of finding Redis (e.g. Sentinel) is one
 * change here. Every bus connection shares the retry and error-reporting policy below.
 *
 * While Redis is down every connection retries forever every 0.1-0.2 s, but commands fail fast
 * (few retries per request) instead of hanging a request.
 */
import { isSentinelUrl, parseSentinelUrl } from '@keygate/config';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * Reconnect delay: RETRY_DELAY_MS plus up to RETRY_JITTER_MS of jitter (so a fleet does not
 * reconnect in lockstep), from the first attempt on. It bounds how long after Redis answers again
 * a connection is back (under 0.2 s): revocation enforcement resumes within 0.5 s of Redis
 * returning, where an exponential backoff capped at 2 s took 1.1-1.2 s on average and up to 2.1 s.
 * A refused connection attempt every ~0.15 s per connection costs Redis and us next to nothing;
 * what it would cost is log lines, hence REPEAT_REPORT_MS below.
 */
const RETRY_DELAY_MS = 100;
const RETRY_JITTER_MS = 100;
function retryStrategy(): number {
  return RETRY_DELAY_MS + Math.floor(Math.random() * RETRY_JITTER_MS);
}

/**
 * With reconnects every ~0.15 s, each failed attempt's error would reach onError (and the
 * logs) several times a second per connection: the same error code on the same connection is
 * reported again only after this long.
 */
const REPEAT_REPORT_MS = 5_000;

export interface ConnectionOptions {
  url: string;
  /** Shown in CLIENT LIST (`keygate-bus:<role>:<prefix>`), to tell the bus's connections apart. */
  role: string;
  prefix: string;
  /** Receives connection errors, each repeated one at most every REPEAT_REPORT_MS. */
  report: (error: Error) => void;
  extra?: RedisOptions;
}

function sanitizeName(value: string): string {
  // CLIENT SETNAME refuses spaces and control characters.
  return value.replace(/[^\x21-\x7e]/g, '_').slice(0, 64);
}

/**
 * A redis+sentinel:// URL as ioredis options: ioredis asks the sentinels for the current primary on
 * every (re)connect, so after a failover the reconnect below lands on the new primary.
 */
function sentinelOptions(url: string): RedisOptions {
  const target = parseSentinelUrl(url);
  return {
    sentinels: target.sentinels,
    name: target.name,
    db: target.db,
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
    // The same quick retry while no sentinel answers as while Redis is down.
    sentinelRetryStrategy: retryStrategy,
    // Not ioredis's failoverDetector: its +switch-master handler ends a connection that is still
    // retrying towards the dead primary with status "end" for good (seen in
    // tests/scale/redis-sentinel.test.ts: the event consumer and the login limiter never came back).
    // A killed primary drops every connection anyway, and a demoted one answers writes with
    // READONLY (reconnectOnError below); a subscriber left on it still hears every message, which
    // replicas receive from the new primary.
    failoverDetector: false,
  };
}

export function openRedisConnection({ url, role, prefix, report, extra = {} }: ConnectionOptions): Redis {
  const options: RedisOptions = {
    connectionName: sanitizeName(`keygate-bus:${role}:${prefix}`),
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy,
    connectTimeout: 5_000,
    // After a failover the old primary, if it still answers, refuses writes with READONLY:
    // reconnect (2 = and resend the failed command) to find the new one through the sentinels.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    ...extra,
  };
  const connection = isSentinelUrl(url) ? new Redis({ ...sentinelOptions(url), ...options }) : new Redis(url, options);
  let last: { code: unknown; at: number } | undefined;
  connection.on('error', (error: Error & { code?: unknown }) => {
    const now = Date.now();
    if (last !== undefined && last.code === error.code && error.code !== undefined && now - last.at < REPEAT_REPORT_MS) return;
    last = { code: error.code, at: now };
    report(error);
  });
  return connection;
}
