/**
 * The Redis bus: what lets several instances of each service share revocations and the outbox.
 *
 * Connections, each for a reason:
 * - `command`: every ordinary command, PUBLISH and the rate-limit counters; its state is `bus.connection`.
 * - `subscriber` (opened on first subscribe): a connection in subscribe mode cannot run other
 *   commands. ioredis re-subscribes it after a reconnect; we then tell onResubscribed handlers so
 *   they can catch up on what was published while it was away.
 * - blocking readers: XREADGROUP BLOCK holds its connection for up to blockMs, so each blocking read
 *   borrows a connection of its own from a small pool and never delays publish or other commands.
 *
 * While Redis is down every connection retries (see connection.ts), but commands fail fast (a
 * command timeout) with ERR_BUS_UNAVAILABLE instead of hanging a request.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { openRedisConnection } from './connection.js';
import { redisCounters } from './counters.js';
import { assertEpochMs, assertStreamFields, BusError, busClosed, busUnavailable, positiveInteger } from './errors.js';
import {
  DEFAULT_CLAIM_IDLE_MS,
  DEFAULT_READ_COUNT,
  DEFAULT_STREAM_MAX_LEN,
  invokeHandler,
  toError,
  type Bus,
  type ExpiringMember,
  type RedisBusOptions,
  type StreamEntry,
} from './types.js';

/** A command (other than a blocking read) that has no answer by then fails instead of hanging. */
const COMMAND_TIMEOUT_MS = 2_000;
/** /readyz must answer quickly even when Redis does not. */
const PING_TIMEOUT_MS = 1_000;
/** A blocking read not back this long after its BLOCK time is on a dead socket: drop the connection. */
const BLOCKING_GRACE_MS = 2_000;
/** Idle blocking connections kept for reuse; more concurrent readers open (and later close) extras. */
const MAX_IDLE_BLOCKING = 4;
/** QUIT waits for replies in flight; past this we just drop the socket. */
const QUIT_TIMEOUT_MS = 1_000;

interface ChannelState {
  handlers: Set<{ handler: (message: string) => void }>;
  /** Whether Redis has (or is about to have) this connection subscribed. */
  active: boolean;
  /** SUBSCRIBE/UNSUBSCRIBE for one channel run one after another, each reconciling `active` with `handlers`. */
  chain: Promise<void>;
}

type RawEntry = { id: string; fields: Record<string, string> | null };

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

function isNoGroup(error: unknown): boolean {
  return isReplyError(error) && error.message.startsWith('NOGROUP');
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** [field, value, field, value, …] → record; defineProperty semantics, so "__proto__" is just a field. */
function parseFields(raw: unknown): Record<string, string> | null {
  if (!Array.isArray(raw)) return null;
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([String(raw[i]), String(raw[i + 1])]);
  return Object.fromEntries(pairs);
}

/** [[id, fields | null], …] as returned inside XREADGROUP and XAUTOCLAIM replies. */
function parseEntries(raw: unknown): RawEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: RawEntry[] = [];
  for (const item of raw) {
    if (!Array.isArray(item) || item.length < 1) continue;
    out.push({ id: String(item[0]), fields: parseFields(item[1]) });
  }
  return out;
}

/** XREADGROUP reply for one stream: [[key, entries]] or null on timeout. */
function parseReadReply(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first: unknown = reply[0];
  return Array.isArray(first) ? parseEntries(first[1]) : [];
}

const ADD_EXPIRING = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if tonumber(ARGV[2]) > tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[3])
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', KEYS[1], string.format('%d', math.ceil(tonumber(last[2]))))
end
return 1
`;

export function createRedisBus(options: RedisBusOptions): Bus {
  const prefix = options.keyPrefix ?? '';
  const onError = options.onError;
  const report = (error: Error): void => {
    try {
      onError?.(error);
    } catch {
      // A failing error reporter must not turn into an unhandled 'error' event.
    }
  };

  const connect = (role: string, extra: RedisOptions = {}): Redis => openRedisConnection({ url: options.url, role, prefix, report, extra });

  /** Handlers run one by one; one that throws goes to onError and does not stop the others. */
  const notifyAll = (handlers: Set<() => void>): void => {
    for (const handler of [...handlers]) {
      try {
        handler();
      } catch (error) {
        report(toError(error));
      }
    }
  };
  const addHandler = (handlers: Set<() => void>, handler: () => void): (() => void) => {
    // A wrapper per call, so the same function added twice is removed one at a time.
    const wrapper = (): void => handler();
    handlers.add(wrapper);
    return () => {
      handlers.delete(wrapper);
    };
  };

  const command = connect('cmd', { commandTimeout: COMMAND_TIMEOUT_MS });
  const downHandlers = new Set<() => void>();
  const readyHandlers = new Set<() => void>();
  command.on('close', () => notifyAll(downHandlers));
  command.on('ready', () => notifyAll(readyHandlers));
  let subscriber: Redis | undefined;
  const channels = new Map<string, ChannelState>();
  const resubscribedHandlers = new Set<() => void>();
  const idleBlocking: Redis[] = [];
  const allBlocking = new Set<Redis>();
  /** XAUTOCLAIM cursor per stream/group/consumer, so a long PEL is scanned across calls. */
  const claimCursors = new Map<string, string>();
  let closed = false;
  let closing: Promise<void> | undefined;

  const key = (name: string): string => prefix + name;

  const ensureOpen = (): void => {
    if (closed) throw busClosed();
  };

  /** Library errors become coded ones: closed, unavailable (connection/timeout), or Redis's own reply error. */
  const translate = (error: unknown): unknown => {
    if (closed) return busClosed();
    if (error instanceof BusError || isReplyError(error)) return error;
    return busUnavailable('Redis did not answer.', error);
  };

  const run = async <T>(operation: () => Promise<T>): Promise<T> => {
    ensureOpen();
    try {
      return await operation();
    } catch (error) {
      throw translate(error);
    }
  };

  const getSubscriber = (): Redis => {
    if (subscriber) return subscriber;
    const connection = connect('sub', { commandTimeout: COMMAND_TIMEOUT_MS, autoResubscribe: true });
    let readyCount = 0;
    connection.on('message', (channel: string, message: string) => {
      const state = channels.get(channel);
      if (!state) return;
      for (const entry of [...state.handlers]) invokeHandler(entry.handler, message, report);
    });
    connection.on('ready', () => {
      readyCount += 1;
      if (readyCount === 1) return;
      // ioredis emits 'ready' just before it re-sends SUBSCRIBE. A PING queued after those commands
      // is answered after them, so once it resolves the subscriptions are active again.
      queueMicrotask(() => {
        connection.ping().then(
          () => {
            if (!closed) notifyAll(resubscribedHandlers);
          },
          // The connection dropped again; the next 'ready' will try once more.
          () => {},
        );
      });
    });
    subscriber = connection;
    return connection;
  };

  /** One step of a channel's chain: SUBSCRIBE or UNSUBSCRIBE so that Redis matches the handler set. */
  const reconcile = (name: string, state: ChannelState): Promise<void> => {
    const step = state.chain.then(async () => {
      if (closed) return;
      if (state.handlers.size > 0 && !state.active) {
        await getSubscriber().subscribe(name);
        state.active = true;
      } else if (state.handlers.size === 0 && state.active) {
        state.active = false;
        await getSubscriber().unsubscribe(name);
      }
    });
    state.chain = step.catch(() => {});
    return step;
  };

  const acquireBlocking = (): Redis => {
    const connection = idleBlocking.pop() ?? connect('block');
    allBlocking.add(connection);
    return connection;
  };

  const releaseBlocking = (connection: Redis, reusable: boolean): void => {
    if (reusable && !closed && idleBlocking.length < MAX_IDLE_BLOCKING) {
      idleBlocking.push(connection);
      return;
    }
    allBlocking.delete(connection);
    connection.disconnect();
  };

  const readNewBlocking = async (
    streamKey: string,
    group: string,
    consumer: string,
    count: number,
    blockMs: number,
  ): Promise<RawEntry[]> => {
    const connection = acquireBlocking();
    let timedOut = false;
    const guard = setTimeout(() => {
      timedOut = true;
      connection.disconnect();
    }, blockMs + BLOCKING_GRACE_MS);
    try {
      const reply = await connection.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', streamKey, '>');
      releaseBlocking(connection, true);
      return parseReadReply(reply);
    } catch (error) {
      releaseBlocking(connection, false);
      if (closed) return [];
      if (timedOut) throw busUnavailable('Redis did not answer a blocking read in time.', error);
      throw error;
    } finally {
      clearTimeout(guard);
    }
  };

  const ensureGroup = async (streamKey: string, group: string): Promise<void> => {
    try {
      await command.call('XGROUP', 'CREATE', streamKey, group, '0', 'MKSTREAM');
    } catch (error) {
      if (isReplyError(error) && error.message.startsWith('BUSYGROUP')) return;
      throw error;
    }
  };

  /** Keeps entries that still exist; acks the ones trimmed away while pending so they stop coming back. */
  const keepExisting = async (streamKey: string, group: string, entries: RawEntry[]): Promise<StreamEntry[]> => {
    const gone = entries.filter((entry) => entry.fields === null).map((entry) => entry.id);
    if (gone.length > 0) await command.call('XACK', streamKey, group, ...gone);
    return entries.flatMap((entry) => (entry.fields === null ? [] : [{ id: entry.id, fields: entry.fields }]));
  };

  const readOnce = async (
    streamKey: string,
    group: string,
    consumer: string,
    count: number,
    blockMs: number,
    claimIdleMs: number,
  ): Promise<StreamEntry[]> => {
    // 1. This consumer's own pending entries (e.g. delivered before it crashed).
    for (;;) {
      const raw = parseReadReply(await command.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', streamKey, '0'));
      const own = await keepExisting(streamKey, group, raw);
      if (own.length > 0) return own;
      // Only trimmed entries in this page: look again, the acked ones are gone now.
      if (raw.length === 0) break;
    }

    // 2. Entries another consumer has held too long (it probably crashed for good).
    const cursorKey = `${streamKey}\u0000${group}\u0000${consumer}`;
    const cursor = claimCursors.get(cursorKey) ?? '0-0';
    const claimReply = await command.call('XAUTOCLAIM', streamKey, group, consumer, claimIdleMs, cursor, 'COUNT', count);
    if (Array.isArray(claimReply)) {
      claimCursors.set(cursorKey, String(claimReply[0] ?? '0-0'));
      // Redis < 7 lists deleted entries with null fields; Redis 7 drops them from the PEL itself.
      const claimed = await keepExisting(streamKey, group, parseEntries(claimReply[1]));
      if (claimed.length > 0) return claimed;
    }

    // 3. New entries, waiting for them on a connection of their own if asked to.
    if (blockMs > 0) return keepExisting(streamKey, group, await readNewBlocking(streamKey, group, consumer, count, blockMs));
    const reply = await command.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', streamKey, '>');
    return keepExisting(streamKey, group, parseReadReply(reply));
  };

  const isConnected = (): boolean => !closed && command.status === 'ready';
  const bus: Bus = {
    kind: 'redis',
    connection: {
      isConnected,
      onDown: (handler) => addHandler(downHandlers, handler),
      onReady: (handler) => addHandler(readyHandlers, handler),
    },
    counters: redisCounters(command, prefix, isConnected),

    publish: (channel, message) =>
      run(async () => {
        await command.publish(key(channel), message);
      }),

    subscribe: (channel, handler) =>
      run(async () => {
        const name = key(channel);
        let state = channels.get(name);
        if (!state) {
          state = { handlers: new Set(), active: false, chain: Promise.resolve() };
          channels.set(name, state);
        }
        const channelState = state;
        // A wrapper per call: the same function subscribed twice is two subscriptions.
        const entry = { handler };
        channelState.handlers.add(entry);
        try {
          await reconcile(name, channelState);
        } catch (error) {
          channelState.handlers.delete(entry);
          throw error;
        }
        let removed = false;
        return async () => {
          if (removed || closed) return;
          removed = true;
          channelState.handlers.delete(entry);
          try {
            await reconcile(name, channelState);
          } catch (error) {
            throw translate(error);
          }
        };
      }),

    onResubscribed: (handler) => addHandler(resubscribedHandlers, handler),

    addExpiring: (set, member, expiresAtMs) =>
      run(async () => {
        assertEpochMs(expiresAtMs, 'expiresAtMs');
        await command.eval(ADD_EXPIRING, 1, key(set), Date.now(), expiresAtMs, member);
      }),

    listExpiring: (set, nowMs = Date.now()) =>
      run(async () => {
        assertEpochMs(nowMs, 'nowMs');
        const name = key(set);
        // Prune only what has expired for everyone; a caller asking about the future must not delete the present.
        const results = await command
          .multi()
          .zremrangebyscore(name, '-inf', Math.min(Date.now(), nowMs))
          .zrangebyscore(name, `(${nowMs}`, '+inf', 'WITHSCORES')
          .exec();
        const [, range] = results ?? [];
        if (!range) throw busUnavailable('Redis aborted the transaction.');
        if (range[0]) throw range[0];
        const flat = range[1] as string[];
        const out: ExpiringMember[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: flat[i]!, expiresAtMs: Number(flat[i + 1]) });
        return out;
      }),

    streamAdd: (stream, fields, addOptions = {}) =>
      run(async () => {
        assertStreamFields(fields);
        const maxLen = positiveInteger(addOptions.maxLen, DEFAULT_STREAM_MAX_LEN, 'maxLen');
        const flat = Object.entries(fields).flat();
        const id = await command.call('XADD', key(stream), 'MAXLEN', '~', maxLen, '*', ...flat);
        return String(id);
      }),

    streamEnsureGroup: (stream, group) => run(() => ensureGroup(key(stream), group)),

    streamReadGroup: (stream, group, consumer, readOptions = {}) =>
      run(async () => {
        const count = positiveInteger(readOptions.count, DEFAULT_READ_COUNT, 'count');
        const claimIdleMs = Math.max(0, Math.floor(readOptions.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS));
        // BLOCK 0 would wait forever; "0 or absent" means "do not wait" here.
        const blockMs = Math.max(0, Math.floor(readOptions.blockMs ?? 0));
        const streamKey = key(stream);
        try {
          return await readOnce(streamKey, group, consumer, count, blockMs, claimIdleMs);
        } catch (error) {
          if (closed) return [];
          if (!isNoGroup(error)) throw error;
          // The group is gone (Redis restarted without persistence, or someone deleted it): start over
          // from the beginning of the stream; consumers de-duplicate by event id anyway.
          await ensureGroup(streamKey, group);
          return await readOnce(streamKey, group, consumer, count, blockMs, claimIdleMs);
        }
      }),

    streamAck: (stream, group, ids) =>
      run(async () => {
        if (ids.length === 0) return;
        await command.call('XACK', key(stream), group, ...ids);
      }),

    ping: () =>
      run(async () => {
        // Known to be down: say so at once rather than after the timeout.
        if (command.status === 'reconnecting' || command.status === 'end') throw busUnavailable('Redis is not connected.');
        await withTimeout(command.ping(), PING_TIMEOUT_MS, () => busUnavailable('Redis did not answer PING in time.'));
      }),

    close() {
      if (closing) return closing;
      closed = true;
      resubscribedHandlers.clear();
      downHandlers.clear();
      readyHandlers.clear();
      const quit = async (connection: Redis): Promise<void> => {
        if (connection.status === 'ready') {
          try {
            await withTimeout(connection.quit(), QUIT_TIMEOUT_MS, () => new Error('QUIT timed out'));
            return;
          } catch {
            // Fall through to dropping the socket.
          }
        }
        connection.disconnect();
      };
      // Blocking readers are mid-BLOCK: QUIT would wait behind them, so drop them; their reads resolve [].
      for (const connection of allBlocking) connection.disconnect();
      allBlocking.clear();
      idleBlocking.length = 0;
      closing = Promise.all([quit(command), subscriber ? quit(subscriber) : undefined]).then(() => {});
      return closing;
    },
  };
  return bus;
}
