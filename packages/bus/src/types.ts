/**
 * The one contract every service codes against: pub/sub (session revocation fan-out), expiring sets
 * (the revocation catch-up list), streams with consumer groups (the orders → notifications outbox),
 * the connection's state (to know when messages may have been missed) and, with Redis, shared
 * fixed-window counters (rate limits). Redis and the in-memory twin implement it with the same
 * observable behaviour, so a service never knows which one it got and the same test suite runs
 * against both. No raw client is part of it: what a caller needs of Redis is an operation here.
 */

export interface StreamEntry {
  id: string;
  fields: Record<string, string>;
}

export interface ExpiringMember {
  member: string;
  expiresAtMs: number;
}

export interface StreamAddOptions {
  /** Approximate cap on the stream's length (Redis `MAXLEN ~`). Default 100000. */
  maxLen?: number;
}

export interface StreamReadOptions {
  /** Most entries returned by one call. Default 10. */
  count?: number;
  /** Wait up to this long for new entries when there is nothing to return. 0 or absent: do not wait. Never waits forever. */
  blockMs?: number;
  /** Entries another consumer has held unacked for at least this long are claimed by this one. Default 30000. */
  claimIdleMs?: number;
}

/** The backend connection as callers see it: whether commands reach it, and when that changes. */
export interface BusConnection {
  /** Redis: the command connection is ready. Memory: always true. */
  isConnected(): boolean;
  /** Called each time the command connection is lost (every failed reconnect attempt too). Memory: never. Returns a remover. */
  onDown(handler: () => void): () => void;
  /** Called each time the command connection becomes ready, the first connect included. Memory: never. Returns a remover. */
  onReady(handler: () => void): () => void;
}

export interface WindowHit {
  key: string;
  /** Hits to add (1 for one request, more for a batch counted locally). */
  increment: number;
  /** The window a counter that has none starts with. */
  windowMs: number;
  /**
   * An id of the request being counted (a resend carries the same): counted only the first time
   * it is hit under this key within `windowMs`; a later hit with it adds nothing and reads the count.
   */
  once?: string;
}

export interface WindowCount {
  /** Hits in the current window, this batch included, from every instance. */
  total: number;
  /** Milliseconds left in the window. */
  ttlMs: number;
}

/** Fixed-window counters shared by every instance (Redis keys under the bus's keyPrefix). */
export interface SharedCounters {
  /** Whether a hit would reach Redis now; callers count locally instead of queueing behind a reconnect. */
  isConnected(): boolean;
  /** One round trip for the whole batch; each hit's result, or the Error for that key. Rejects when Redis does not answer. */
  hitWindows(hits: readonly WindowHit[]): Promise<Array<WindowCount | Error>>;
}

export interface Bus {
  readonly kind: 'redis' | 'memory';
  /** Fire-and-forget broadcast to every current subscriber of channel (all processes for Redis). */
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. Handler errors must not break the bus (they go to onError). */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * Called after the subscriber connection (re)connects and its subscriptions are active again, i.e.
   * after messages may have been missed. Not called for the very first connect. Memory: never.
   * Returns a remover.
   */
  onResubscribed(handler: () => void): () => void;
  /**
   * Expiring set: member kept until expiresAtMs (epoch ms). Redis: a sorted set scored by expiry;
   * expired members pruned on write and read. Re-adding keeps the later expiry.
   */
  addExpiring(set: string, member: string, expiresAtMs: number): Promise<void>;
  /** Members not yet expired at nowMs (default: now), with their expiry, soonest expiry first. */
  listExpiring(set: string, nowMs?: number): Promise<ExpiringMember[]>;
  /** Append to a stream; returns the entry id (`<ms>-<seq>`, increasing). Trimmed to about maxLen entries. */
  streamAdd(stream: string, fields: Record<string, string>, options?: StreamAddOptions): Promise<string>;
  /** Create the consumer group if absent (reading from the start of the stream; creates the stream), idempotent. */
  streamEnsureGroup(stream: string, group: string): Promise<void>;
  /**
   * Read for a consumer of a group: first this consumer's own pending (delivered, unacked) entries,
   * then entries idle for claimIdleMs under other consumers (claimed for this one), then new ones,
   * waiting up to blockMs when there are none. A missing group (e.g. Redis lost its data) is created
   * again from the start of the stream. Resolves [] for a read in flight when the bus closes.
   */
  streamReadGroup(stream: string, group: string, consumer: string, options?: StreamReadOptions): Promise<StreamEntry[]>;
  streamAck(stream: string, group: string, ids: string[]): Promise<void>;
  /** Resolves when the backend answers (Redis PING with a short timeout); rejects otherwise. For /readyz. */
  ping(): Promise<void>;
  readonly connection: BusConnection;
  /** Shared rate-limit counters: Redis only (undefined for memory, where one process counts alone). */
  readonly counters: SharedCounters | undefined;
  /** Quits every connection, resolves reads in flight with []; later calls reject with ERR_BUS_CLOSED. Idempotent. */
  close(): Promise<void>;
}

export interface RedisBusOptions {
  url: string;
  /** Prefixes every key, channel and stream name, e.g. a random namespace per test file. */
  keyPrefix?: string;
  /** Receives connection errors and subscriber handler errors; without it they are dropped. */
  onError?: (error: Error) => void;
}

export interface CreateBusOptions {
  /** Set: Redis. Absent: a new in-memory bus (share that one instance between in-process services). */
  redisUrl?: string | undefined;
  keyPrefix?: string;
  onError?: (error: Error) => void;
}

/** Defaults shared by both implementations so they behave alike. */
export const DEFAULT_STREAM_MAX_LEN = 100_000;
export const DEFAULT_READ_COUNT = 10;
export const DEFAULT_CLAIM_IDLE_MS = 30_000;

/** Turns an error-ish value from a handler into an Error for onError. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * Calls a subscriber handler so that neither a throw nor a rejected promise (an async handler passed
 * where `void` is expected) can escape into the bus.
 */
export function invokeHandler(handler: (message: string) => void, message: string, onError: (error: Error) => void): void {
  try {
    const result: unknown = handler(message);
    if (result instanceof Promise) result.catch((error: unknown) => onError(toError(error)));
  } catch (error) {
    onError(toError(error));
  }
}
