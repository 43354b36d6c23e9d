/**
 * @keygate/bus: pub/sub, expiring sets, streams, the connection's state and shared counters behind
 * one interface, over Redis when a URL is configured and in memory otherwise. Services depend on
 * `Bus`, never on ioredis.
 */
import { createMemoryBus } from './memory.js';
import { createRedisBus } from './redis.js';
import type { Bus, CreateBusOptions } from './types.js';

export type {
  Bus,
  BusConnection,
  SharedCounters,
  WindowCount,
  WindowHit,
  CreateBusOptions,
  ExpiringMember,
  RedisBusOptions,
  StreamAddOptions,
  StreamEntry,
  StreamReadOptions,
} from './types.js';
export { BusError, type BusErrorCode } from './errors.js';
export { createMemoryBus, createMemoryHub, type MemoryBusOptions, type MemoryHub } from './memory.js';
export { createRedisBus } from './redis.js';

/**
 * Redis when redisUrl is set, else a new in-memory bus. In single-process mode call this once and
 * hand the same bus to every service: separate memory buses do not see each other.
 */
export function createBus(options: CreateBusOptions): Bus {
  const { redisUrl, keyPrefix, onError } = options;
  return redisUrl ? createRedisBus({ url: redisUrl, keyPrefix, onError }) : createMemoryBus({ keyPrefix, onError });
}

/** A service's bus: the one it was handed (shared, never closed by it) or one it opened (and closes). */
export interface ServiceBus {
  bus: Bus;
  /** Closes the bus only if this service opened it; safe to call more than once. */
  release(): Promise<void>;
}

/**
 * What every service's build() does with its bus: use the shared one from its deps (the embedded
 * stack hands one memory bus to all four services, tests hand theirs), else open its own from
 * the settings. Only an opened bus is closed on release.
 */
export function useServiceBus(shared: Bus | undefined, options: CreateBusOptions): ServiceBus {
  if (shared) return { bus: shared, release: async () => {} };
  const bus = createBus(options);
  let closed: Promise<void> | undefined;
  return { bus, release: () => (closed ??= bus.close()) };
}

