/**
 * The in-memory twin of the Redis bus, for single-process development (no REDIS_URL) and fast tests.
 * It reproduces the Redis behaviour services depend on: asynchronous pub/sub delivery, expiring sets
 * pruned on write and read, `<ms>-<seq>` stream ids, and consumer groups with a pending entries list,
 * ack, re-delivery to the same consumer and claiming after idle.
 *
 * State lives in a hub; each bus is a view of a hub, like a Redis client is a view of a server. The
 * services of one process share one bus; tests open several buses on one hub to play "two processes"
 * or "a consumer that crashed and came back".
 */
import { assertEpochMs, assertStreamFields, busClosed, invalidArgument } from './errors.js';
import {
  DEFAULT_CLAIM_IDLE_MS,
  DEFAULT_READ_COUNT,
  DEFAULT_STREAM_MAX_LEN,
  invokeHandler,
  type Bus,
  type ExpiringMember,
  type StreamEntry,
} from './types.js';

declare const hubBrand: unique symbol;
/** Opaque shared state for memory buses; create with createMemoryHub(). */
export interface MemoryHub {
  readonly [hubBrand]: true;
}

export interface MemoryBusOptions {
  /** Share state with other buses on the same hub. Default: a hub of its own. */
  hub?: MemoryHub;
  keyPrefix?: string;
  /** Receives subscriber handler errors; without it they are dropped. */
  onError?: (error: Error) => void;
}

interface Subscription {
  handler: (message: string) => void;
  report: (error: Error) => void;
}

interface StoredEntry {
  id: string;
  ms: number;
  seq: number;
  fields: Record<string, string>;
}

interface PendingEntry {
  consumer: string;
  deliveredAtMs: number;
  deliveries: number;
}

interface Group {
  lastMs: number;
  lastSeq: number;
  /** Delivered but not acked, by entry id (the PEL). */
  pending: Map<string, PendingEntry>;
}

interface MemoryStream {
  /** Ascending by id. */
  entries: StoredEntry[];
  byId: Map<string, StoredEntry>;
  lastMs: number;
  lastSeq: number;
  groups: Map<string, Group>;
  /** Blocked reads to wake on the next add. */
  waiters: Set<() => void>;
}

interface HubState {
  channels: Map<string, Set<Subscription>>;
  sets: Map<string, Map<string, number>>;
  streams: Map<string, MemoryStream>;
}

export function createMemoryHub(): MemoryHub {
  const state: HubState = { channels: new Map(), sets: new Map(), streams: new Map() };
  return state as unknown as MemoryHub;
}

function parseId(id: string): { ms: number; seq: number } {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (!match) throw invalidArgument(`Not a stream entry id: ${id}`);
  return { ms: Number(match[1]), seq: Number(match[2]) };
}

function compareIds(a: { ms: number; seq: number }, b: { ms: number; seq: number }): number {
  return a.ms - b.ms || a.seq - b.seq;
}

function copyEntry(entry: StoredEntry): StreamEntry {
  return { id: entry.id, fields: { ...entry.fields } };
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw invalidArgument(`${name} must be a positive integer.`);
  return value;
}

export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const state = (options.hub ?? createMemoryHub()) as unknown as HubState;
  const prefix = options.keyPrefix ?? '';
  const onError = options.onError;
  const report = (error: Error): void => {
    try {
      onError?.(error);
    } catch {
      // A failing error reporter must not break delivery to the other subscribers.
    }
  };

  let closed = false;
  /** This bus's subscriptions and blocked reads, released on close. */
  const ownSubscriptions = new Map<Subscription, string>();
  const ownWaiters = new Set<() => void>();

  const ensureOpen = (): void => {
    if (closed) throw busClosed();
  };

  const streamFor = (name: string): MemoryStream => {
    let stream = state.streams.get(name);
    if (!stream) {
      stream = { entries: [], byId: new Map(), lastMs: 0, lastSeq: 0, groups: new Map(), waiters: new Set() };
      state.streams.set(name, stream);
    }
    return stream;
  };

  /** Like XGROUP CREATE … 0 MKSTREAM: a new group starts before the first entry. */
  const groupFor = (stream: MemoryStream, name: string): Group => {
    let group = stream.groups.get(name);
    if (!group) {
      group = { lastMs: 0, lastSeq: 0, pending: new Map() };
      stream.groups.set(name, group);
    }
    return group;
  };

  const pruneSet = (name: string, atMs: number): Map<string, number> | undefined => {
    const members = state.sets.get(name);
    if (!members) return undefined;
    for (const [member, expiresAtMs] of members) if (expiresAtMs <= atMs) members.delete(member);
    if (members.size === 0) {
      state.sets.delete(name);
      return undefined;
    }
    return members;
  };

  /**
   * Hands the given pending entries (oldest first, at most count) to consumer, like XREADGROUP on
   * history or XAUTOCLAIM: the delivery time resets and the owner changes. Entries trimmed from the
   * stream while pending are dropped from the PEL instead (Redis reports them as deleted).
   */
  const takePending = (stream: MemoryStream, group: Group, ids: string[], consumer: string, count: number): StreamEntry[] => {
    const now = Date.now();
    const out: StreamEntry[] = [];
    for (const id of ids.sort((a, b) => compareIds(parseId(a), parseId(b)))) {
      if (out.length >= count) break;
      const pending = group.pending.get(id);
      if (!pending) continue;
      const entry = stream.byId.get(id);
      if (!entry) {
        group.pending.delete(id);
        continue;
      }
      pending.consumer = consumer;
      pending.deliveredAtMs = now;
      pending.deliveries += 1;
      out.push(copyEntry(entry));
    }
    return out;
  };

  const readOwnPending = (stream: MemoryStream, group: Group, consumer: string, count: number): StreamEntry[] => {
    const ids = [...group.pending].filter(([, p]) => p.consumer === consumer).map(([id]) => id);
    return takePending(stream, group, ids, consumer, count);
  };

  const claimIdle = (stream: MemoryStream, group: Group, consumer: string, count: number, claimIdleMs: number): StreamEntry[] => {
    const now = Date.now();
    const ids = [...group.pending].filter(([, p]) => now - p.deliveredAtMs >= claimIdleMs).map(([id]) => id);
    return takePending(stream, group, ids, consumer, count);
  };

  const readNew = (stream: MemoryStream, group: Group, consumer: string, count: number): StreamEntry[] => {
    const last = { ms: group.lastMs, seq: group.lastSeq };
    // Binary search for the first entry after the group's last delivered id.
    let low = 0;
    let high = stream.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareIds(stream.entries[mid]!, last) <= 0) low = mid + 1;
      else high = mid;
    }
    const fresh = stream.entries.slice(low, low + count);
    const now = Date.now();
    for (const entry of fresh) {
      group.pending.set(entry.id, { consumer, deliveredAtMs: now, deliveries: 1 });
      group.lastMs = entry.ms;
      group.lastSeq = entry.seq;
    }
    return fresh.map(copyEntry);
  };

  /** Resolves on the stream's next add, this bus closing, or after ms. */
  const waitForAdd = (stream: MemoryStream, ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stream.waiters.delete(done);
        ownWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stream.waiters.add(done);
      ownWaiters.add(done);
    });

  const bus: Bus = {
    kind: 'memory',
    redis: undefined,
    // One process, no connection to lose.
    connection: { isConnected: () => !closed, onDown: () => () => {}, onReady: () => () => {} },
    counters: undefined,

    async publish(channel, message) {
      ensureOpen();
      const subscriptions = state.channels.get(prefix + channel);
      if (!subscriptions) return;
      const snapshot = [...subscriptions];
      // Delivered later, never inside publish(), as with Redis; a subscriber gone by then misses it.
      setImmediate(() => {
        for (const subscription of snapshot) {
          if (subscriptions.has(subscription)) invokeHandler(subscription.handler, message, subscription.report);
        }
      });
    },

    async subscribe(channel, handler) {
      ensureOpen();
      const name = prefix + channel;
      const subscription: Subscription = { handler, report };
      let subscriptions = state.channels.get(name);
      if (!subscriptions) {
        subscriptions = new Set();
        state.channels.set(name, subscriptions);
      }
      subscriptions.add(subscription);
      ownSubscriptions.set(subscription, name);
      return async () => {
        ownSubscriptions.delete(subscription);
        const current = state.channels.get(name);
        if (!current) return;
        current.delete(subscription);
        if (current.size === 0) state.channels.delete(name);
      };
    },

    onResubscribed() {
      // One process, no connection to lose: nothing is ever missed.
      return () => {};
    },

    async addExpiring(set, member, expiresAtMs) {
      ensureOpen();
      assertEpochMs(expiresAtMs, 'expiresAtMs');
      const name = prefix + set;
      const now = Date.now();
      let members = pruneSet(name, now);
      if (expiresAtMs <= now) return;
      if (!members) {
        members = new Map();
        state.sets.set(name, members);
      }
      members.set(member, Math.max(members.get(member) ?? -Infinity, expiresAtMs));
    },

    async listExpiring(set, nowMs = Date.now()) {
      ensureOpen();
      assertEpochMs(nowMs, 'nowMs');
      // Prune only what has expired for everyone; a caller asking about the future must not delete the present.
      const members = pruneSet(prefix + set, Math.min(Date.now(), nowMs));
      if (!members) return [];
      const out: ExpiringMember[] = [];
      for (const [member, expiresAtMs] of members) if (expiresAtMs > nowMs) out.push({ member, expiresAtMs });
      return out.sort((a, b) => a.expiresAtMs - b.expiresAtMs || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
    },

    async streamAdd(name, fields, addOptions = {}) {
      ensureOpen();
      assertStreamFields(fields);
      const maxLen = positiveInteger(addOptions.maxLen, DEFAULT_STREAM_MAX_LEN, 'maxLen');
      const stream = streamFor(prefix + name);
      // Same id scheme as Redis: wall-clock ms, sequence within the ms, never going backwards.
      const now = Date.now();
      const ms = Math.max(now, stream.lastMs);
      const seq = ms === stream.lastMs ? stream.lastSeq + 1 : 0;
      const entry: StoredEntry = { id: `${ms}-${seq}`, ms, seq, fields: { ...fields } };
      stream.lastMs = ms;
      stream.lastSeq = seq;
      stream.entries.push(entry);
      stream.byId.set(entry.id, entry);
      if (stream.entries.length > maxLen) {
        for (const trimmed of stream.entries.splice(0, stream.entries.length - maxLen)) stream.byId.delete(trimmed.id);
      }
      for (const wake of [...stream.waiters]) wake();
      return entry.id;
    },

    async streamEnsureGroup(name, group) {
      ensureOpen();
      groupFor(streamFor(prefix + name), group);
    },

    async streamReadGroup(name, groupName, consumer, readOptions = {}) {
      ensureOpen();
      const count = positiveInteger(readOptions.count, DEFAULT_READ_COUNT, 'count');
      const claimIdleMs = Math.max(0, readOptions.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS);
      const blockMs = Math.max(0, readOptions.blockMs ?? 0);
      const stream = streamFor(prefix + name);
      // A missing group is recreated from the start, as the Redis twin does after NOGROUP.
      const group = groupFor(stream, groupName);

      const own = readOwnPending(stream, group, consumer, count);
      if (own.length > 0) return own;
      const claimed = claimIdle(stream, group, consumer, count, claimIdleMs);
      if (claimed.length > 0) return claimed;

      const deadline = Date.now() + blockMs;
      for (;;) {
        const fresh = readNew(stream, group, consumer, count);
        const remaining = deadline - Date.now();
        if (fresh.length > 0 || remaining <= 0 || closed) return fresh;
        await waitForAdd(stream, remaining);
        if (closed) return [];
      }
    },

    async streamAck(name, groupName, ids) {
      ensureOpen();
      const group = state.streams.get(prefix + name)?.groups.get(groupName);
      if (!group) return;
      for (const id of ids) group.pending.delete(id);
    },

    async ping() {
      ensureOpen();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const [subscription, name] of ownSubscriptions) {
        const subscriptions = state.channels.get(name);
        subscriptions?.delete(subscription);
        if (subscriptions?.size === 0) state.channels.delete(name);
      }
      ownSubscriptions.clear();
      for (const wake of [...ownWaiters]) wake();
    },
  };
  return bus;
}
