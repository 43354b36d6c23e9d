/**
 * The in-memory bus, for single-process mode (no REDIS_URL) and fast tests. Not a copy of Redis:
 * only what the services rely on, with the same observable behaviour as the Redis bus.
 * - pub/sub: delivered asynchronously, never inside publish();
 * - expiring sets: pruned on write and read, re-adding keeps the later expiry;
 * - streams: an in-process queue per stream with consumer groups, giving the sample outbox flow
 *   the guarantees its consumer is written against: at-least-once delivery (an entry stays pending
 *   for its consumer until acked, comes back to it on its next read, and goes to another consumer
 *   once idle for claimIdleMs), a group created from the start of the stream, increasing ids.
 *   Duplicates are the consumer's to absorb (it stores by event id), as with Redis.
 *
 * State lives in a hub; each bus is a view of a hub, like a Redis client is a view of a server. The
 * services of one process share one bus; tests open several buses on one hub to play "two processes"
 * or "a consumer that crashed and came back".
 */
import { assertEpochMs, assertStreamFields, busClosed, positiveInteger } from './errors.js';
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

type Handler = (message: string) => void;

interface Group {
  /** Position (`seq`) of the next entry never delivered to this group. */
  next: number;
  /** Delivered, not acked: entry id → who holds it and since when. Insertion order is delivery order. */
  pending: Map<string, { consumer: string; sinceMs: number }>;
}

interface Stream {
  /** Ascending; entries[i].seq === entries[0].seq + i (trimming only removes from the front). */
  entries: Array<StreamEntry & { seq: number }>;
  nextSeq: number;
  lastMs: number;
  groups: Map<string, Group>;
  /** Blocked reads to wake on the next add. */
  waiters: Set<() => void>;
}

interface HubState {
  channels: Map<string, Set<Handler>>;
  sets: Map<string, Map<string, number>>;
  streams: Map<string, Stream>;
}

export function createMemoryHub(): MemoryHub {
  const state: HubState = { channels: new Map(), sets: new Map(), streams: new Map() };
  return state as unknown as MemoryHub;
}

const copy = (entry: StreamEntry): StreamEntry => ({ id: entry.id, fields: { ...entry.fields } });

export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const state = (options.hub ?? createMemoryHub()) as unknown as HubState;
  const prefix = options.keyPrefix ?? '';
  const report = (error: Error): void => {
    try {
      options.onError?.(error);
    } catch {
      // A failing error reporter must not break delivery to the other subscribers.
    }
  };

  let closed = false;
  /** This bus's subscriptions and blocked reads, released on close. */
  const ownHandlers = new Map<Handler, string>();
  const ownWaiters = new Set<() => void>();

  const ensureOpen = (): void => {
    if (closed) throw busClosed();
  };

  const unsubscribe = (handler: Handler, name: string): void => {
    ownHandlers.delete(handler);
    const handlers = state.channels.get(name);
    handlers?.delete(handler);
    if (handlers?.size === 0) state.channels.delete(name);
  };

  const streamFor = (name: string): Stream => {
    let stream = state.streams.get(prefix + name);
    if (!stream) {
      stream = { entries: [], nextSeq: 0, lastMs: 0, groups: new Map(), waiters: new Set() };
      state.streams.set(prefix + name, stream);
    }
    return stream;
  };

  /** Like XGROUP CREATE … 0 MKSTREAM: a new group starts before the first entry still held. */
  const groupFor = (stream: Stream, name: string): Group => {
    let group = stream.groups.get(name);
    if (!group) {
      group = { next: 0, pending: new Map() };
      stream.groups.set(name, group);
    }
    return group;
  };

  const entryById = (stream: Stream, id: string): StreamEntry | undefined => {
    const seq = Number(id.slice(id.indexOf('-') + 1));
    return stream.entries[seq - (stream.entries[0]?.seq ?? 0)];
  };

  /** Pending entries matching `take`, oldest delivery first, handed to consumer; trimmed ones are dropped. */
  const takePending = (stream: Stream, group: Group, consumer: string, count: number, take: (holder: string, sinceMs: number) => boolean): StreamEntry[] => {
    const now = Date.now();
    const out: StreamEntry[] = [];
    for (const [id, holder] of [...group.pending]) {
      if (out.length >= count) break;
      if (!take(holder.consumer, holder.sinceMs)) continue;
      const entry = entryById(stream, id);
      group.pending.delete(id);
      if (!entry) continue;
      // Re-inserted: the delivery restarts its idle time and moves to the back of the order.
      group.pending.set(id, { consumer, sinceMs: now });
      out.push(copy(entry));
    }
    return out;
  };

  const readNew = (stream: Stream, group: Group, consumer: string, count: number): StreamEntry[] => {
    const first = stream.entries[0]?.seq ?? stream.nextSeq;
    const fresh = stream.entries.slice(Math.max(0, group.next - first), Math.max(0, group.next - first) + count);
    const now = Date.now();
    for (const entry of fresh) group.pending.set(entry.id, { consumer, sinceMs: now });
    if (fresh.length > 0) group.next = fresh.at(-1)!.seq + 1;
    return fresh.map(copy);
  };

  /** Resolves on the stream's next add, this bus closing, or after ms. */
  const waitForAdd = (stream: Stream, ms: number): Promise<void> =>
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

  const pruneSet = (name: string, atMs: number): Map<string, number> | undefined => {
    const members = state.sets.get(name);
    if (!members) return undefined;
    for (const [member, expiresAtMs] of members) if (expiresAtMs <= atMs) members.delete(member);
    if (members.size > 0) return members;
    state.sets.delete(name);
    return undefined;
  };

  return {
    kind: 'memory',
    // One process, no connection to lose.
    connection: { isConnected: () => !closed, onDown: () => () => {}, onReady: () => () => {} },
    counters: undefined,

    async publish(channel, message) {
      ensureOpen();
      const handlers = state.channels.get(prefix + channel);
      if (!handlers) return;
      const snapshot = [...handlers];
      // Delivered later, never inside publish(), as with Redis; a subscriber gone by then misses it.
      setImmediate(() => {
        for (const handler of snapshot) if (handlers.has(handler)) handler(message);
      });
    },

    async subscribe(channel, handler) {
      ensureOpen();
      const name = prefix + channel;
      // A wrapper per call (the same function subscribed twice is two subscriptions), reporting to this bus's onError.
      const own: Handler = (message) => invokeHandler(handler, message, report);
      let handlers = state.channels.get(name);
      if (!handlers) {
        handlers = new Set();
        state.channels.set(name, handlers);
      }
      handlers.add(own);
      ownHandlers.set(own, name);
      return async () => unsubscribe(own, name);
    },

    onResubscribed() {
      // One process, no connection to lose: nothing is ever missed.
      return () => {};
    },

    async addExpiring(set, member, expiresAtMs) {
      ensureOpen();
      assertEpochMs(expiresAtMs, 'expiresAtMs');
      const now = Date.now();
      const members = pruneSet(prefix + set, now) ?? new Map<string, number>();
      if (expiresAtMs <= now) return;
      members.set(member, Math.max(members.get(member) ?? -Infinity, expiresAtMs));
      state.sets.set(prefix + set, members);
    },

    async listExpiring(set, nowMs = Date.now()) {
      ensureOpen();
      assertEpochMs(nowMs, 'nowMs');
      // Prune only what has expired for everyone; a caller asking about the future must not delete the present.
      const members = pruneSet(prefix + set, Math.min(Date.now(), nowMs));
      const out: ExpiringMember[] = [];
      for (const [member, expiresAtMs] of members ?? []) if (expiresAtMs > nowMs) out.push({ member, expiresAtMs });
      return out.sort((a, b) => a.expiresAtMs - b.expiresAtMs || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
    },

    async streamAdd(name, fields, addOptions = {}) {
      ensureOpen();
      assertStreamFields(fields);
      const maxLen = positiveInteger(addOptions.maxLen, DEFAULT_STREAM_MAX_LEN, 'maxLen');
      const stream = streamFor(name);
      // `<ms>-<seq>` like Redis: never going backwards, and seq alone locates the entry.
      stream.lastMs = Math.max(Date.now(), stream.lastMs);
      const seq = stream.nextSeq++;
      stream.entries.push({ id: `${stream.lastMs}-${seq}`, seq, fields: { ...fields } });
      if (stream.entries.length > maxLen) stream.entries.splice(0, stream.entries.length - maxLen);
      for (const wake of [...stream.waiters]) wake();
      return stream.entries.at(-1)!.id;
    },

    async streamEnsureGroup(name, group) {
      ensureOpen();
      groupFor(streamFor(name), group);
    },

    async streamReadGroup(name, groupName, consumer, readOptions = {}) {
      ensureOpen();
      const count = positiveInteger(readOptions.count, DEFAULT_READ_COUNT, 'count');
      const claimIdleMs = Math.max(0, readOptions.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS);
      const stream = streamFor(name);
      // A missing group is created from the start, as the Redis bus does after NOGROUP.
      const group = groupFor(stream, groupName);
      const own = takePending(stream, group, consumer, count, (holder) => holder === consumer);
      if (own.length > 0) return own;
      const now = Date.now();
      const claimed = takePending(stream, group, consumer, count, (_, sinceMs) => now - sinceMs >= claimIdleMs);
      if (claimed.length > 0) return claimed;
      const deadline = now + Math.max(0, readOptions.blockMs ?? 0);
      for (;;) {
        const fresh = readNew(stream, group, consumer, count);
        const remaining = deadline - Date.now();
        if (fresh.length > 0 || remaining <= 0) return fresh;
        await waitForAdd(stream, remaining);
        if (closed) return [];
      }
    },

    async streamAck(name, groupName, ids) {
      ensureOpen();
      const group = state.streams.get(prefix + name)?.groups.get(groupName);
      for (const id of ids) group?.pending.delete(id);
    },

    async ping() {
      ensureOpen();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const [handler, name] of [...ownHandlers]) unsubscribe(handler, name);
      for (const wake of [...ownWaiters]) wake();
    },
  };
}
