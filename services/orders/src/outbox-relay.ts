/**
 * The relay loop: moves outbox rows to the bus stream `order-events`. It runs every intervalMs,
 * and at once when woken after an order is placed in this process, so a notification normally
 * follows its order within milliseconds; the timer catches rows placed by other instances or left
 * over by a crash. While the database or the bus is down it backs off and keeps trying: the
 * events wait in the outbox, never lost. Relayed events are kept for retentionMs (audits, manual
 * replays), then pruned a bounded batch at a time; expired Idempotency-Keys are pruned in the same
 * step (the one housekeeping timer of the service).
 *
 * Not a fastify plugin on purpose: app.ts stops it before it closes the bus and the database it
 * uses, an order that plugins' onClose hooks do not promise.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Bus } from '@keygate/bus';
import { ORDER_EVENTS_STREAM, toStreamFields, type OutboxEvent } from './events.js';
import { IDEMPOTENCY_KEY_LIFETIME_SECONDS } from './idempotency.js';
import { pruneExpiredKeys } from './repositories/orders.js';
import { pruneRelayed, relayPending } from './repositories/outbox.js';
import type { OrdersDatabase } from './repositories/tables.js';

export interface OutboxRelayOptions {
  db: Kysely<OrdersDatabase>;
  bus: Bus;
  log: FastifyBaseLogger;
  intervalMs?: number;
  batchSize?: number;
  /** How long relayed events are kept (for audits and manual replays) before pruning. Default 7 days. */
  retentionMs?: number;
  /** How often to prune. Default 10 minutes. */
  pruneEveryMs?: number;
  /** Idempotency-Keys older than this are pruned too. Default the keys' lifetime (24 h). */
  keyLifetimeSeconds?: number;
  onRelayed?: (count: number) => void;
  onFailure?: (error: unknown) => void;
}

export interface OutboxRelay {
  /** Relay now rather than at the next tick (called after an order commits). */
  wake(): void;
  /** Ends the loop after the round in flight; resolves once nothing more will touch db or bus. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5_000;
/** Rows deleted per prune, so one prune never holds locks for long; a backlog shrinks over a few rounds. */
const PRUNE_LIMIT = 1_000;

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, bus, log } = options;
  const intervalMs = options.intervalMs ?? 200;
  const batchSize = options.batchSize ?? 100;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  const pruneEveryMs = options.pruneEveryMs ?? 10 * 60_000;
  const keyLifetimeSeconds = options.keyLifetimeSeconds ?? IDEMPOTENCY_KEY_LIFETIME_SECONDS;
  let lastPrune = 0;
  let stopped = false;
  let failures = 0;
  /** Aborted by stop(): cuts any sleep short. */
  const stopping = new AbortController();
  /** Aborted by wake(): a fresh one per round, so a wake during a round skips the sleep after it. */
  let wakeUp = new AbortController();

  const sleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal }).catch(() => {});

  const send = async (events: OutboxEvent[]): Promise<void> => {
    // ioredis writes commands in call order on one connection, so the stream keeps the outbox order.
    await Promise.all(events.map((event) => bus.streamAdd(ORDER_EVENTS_STREAM, toStreamFields(event))));
  };

  const round = async (): Promise<number> => {
    try {
      const relayed = await relayPending(db, batchSize, send);
      if (failures > 0) log.info({ failures }, 'outbox relay recovered');
      failures = 0;
      if (relayed > 0) options.onRelayed?.(relayed);
      return relayed;
    } catch (error) {
      failures += 1;
      options.onFailure?.(error);
      // Once per streak at warn level, then quieter: an outage must not flood the log.
      if (failures === 1) log.warn({ err: error }, 'outbox relay failed; retrying with backoff');
      else log.debug({ err: error, failures }, 'outbox relay still failing');
      return 0;
    }
  };

  const prune = async (): Promise<void> => {
    lastPrune = Date.now();
    try {
      const pruned = await pruneRelayed(db, new Date(lastPrune - retentionMs), PRUNE_LIMIT);
      const keys = await pruneExpiredKeys(db, keyLifetimeSeconds, PRUNE_LIMIT);
      if (pruned > 0 || keys > 0) log.debug({ pruned, keys }, 'pruned relayed outbox events and expired idempotency keys');
    } catch (error) {
      // Housekeeping only: the next prune tries again.
      log.debug({ err: error }, 'pruning the outbox failed');
    }
  };

  const loop = (async () => {
    while (!stopped) {
      wakeUp = new AbortController();
      const relayed = await round();
      if (stopped) break;
      if (failures === 0 && Date.now() - lastPrune >= pruneEveryMs) await prune();
      if (failures > 0) await sleep(Math.min(intervalMs * 2 ** failures, MAX_BACKOFF_MS), stopping.signal);
      // A full batch means more are waiting: go again at once.
      else if (relayed < batchSize) await sleep(intervalMs, AbortSignal.any([stopping.signal, wakeUp.signal]));
    }
  })();

  return {
    wake() {
      // While failing, keep to the backoff: every placed order must not hammer a dependency that is down.
      if (failures === 0) wakeUp.abort();
    },
    async stop() {
      stopped = true;
      stopping.abort();
      await loop;
    },
  };
}
