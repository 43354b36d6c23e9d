/**
 * Fixed-window counters in Redis, for the rate-limit stores: each hit batch is one pipelined round
 * trip, each key one atomic script (INCRBY, then start the window if the key had none), so
 * instances sharing a key always agree on its window.
 */
import type { Redis } from 'ioredis';
import type { SharedCounters, WindowCount } from './types.js';

// A key without an expiry (new, or one whose PEXPIRE was lost) starts its window now.
const HIT_WINDOW_LUA = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {total, ttl}
`;

// The same, counted only if the request's once-key was not set yet (it is set for the window).
const HIT_WINDOW_ONCE_LUA = `
local increment = ARGV[1]
if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then increment = 0 end
${HIT_WINDOW_LUA.replace('ARGV[1]', 'increment')}`;

type CountingRedis = Redis & {
  keygateHitWindow(key: string, increment: number, windowMs: number): Promise<[number, number]>;
  keygateHitWindowOnce(key: string, onceKey: string, increment: number, windowMs: number): Promise<[number, number]>;
};

/** isConnected: the owner's view (a closed bus is not connected even while its socket winds down). */
export function redisCounters(command: Redis, prefix: string, isConnected = (): boolean => command.status === 'ready'): SharedCounters {
  const counting = command as CountingRedis;
  if (typeof counting.keygateHitWindow !== 'function') command.defineCommand('keygateHitWindow', { numberOfKeys: 1, lua: HIT_WINDOW_LUA });
  if (typeof counting.keygateHitWindowOnce !== 'function') command.defineCommand('keygateHitWindowOnce', { numberOfKeys: 2, lua: HIT_WINDOW_ONCE_LUA });
  return {
    isConnected,
    async hitWindows(hits) {
      const pipeline = command.pipeline() as unknown as CountingRedis & { exec: Redis['exec'] };
      for (const { key, increment, windowMs, once } of hits) {
        if (once === undefined) void pipeline.keygateHitWindow(prefix + key, increment, windowMs);
        else void pipeline.keygateHitWindowOnce(prefix + key, `${prefix}${key}:once:${once}`, increment, windowMs);
      }
      const results = (await pipeline.exec()) ?? [];
      return hits.map((_, index): WindowCount | Error => {
        const [error, reply] = results[index] ?? [new Error('Redis gave no reply for this counter.')];
        if (error) return error;
        if (!Array.isArray(reply)) return new Error('Redis gave an unexpected reply for this counter.');
        return { total: Number(reply[0]), ttlMs: Number(reply[1]) };
      });
    },
  };
}
