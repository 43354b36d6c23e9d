/**
 * @keygate/bus: pub/sub, expiring sets and streams behind one interface, over Redis when a URL is
 * configured and in memory otherwise. Services depend on `Bus`, never on ioredis.
 */
import { createMemoryBus } from './memory.js';
import { createRedisBus } from './redis.js';
import type { Bus, CreateBusOptions } from './types.js';

export type {
  Bus,
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
