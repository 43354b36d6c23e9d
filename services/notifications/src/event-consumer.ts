/**
 * The consumer loop: reads `order-events` as a member of the `notifications` consumer group,
 * stores one notification per event (unique event id, so a redelivery is a no-op) and only then
 * acknowledges. Nothing is lost while this service is down: entries wait in the stream, and ones
 * read but not acknowledged before a crash come back to the same consumer name on restart, or
 * are claimed by another instance once idle. Not a fastify plugin on purpose: app.ts stops it
 * before it closes the bus and the database it uses.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Bus, StreamEntry } from '@keygate/bus';
import { CONSUMER_GROUP, ORDER_EVENTS_STREAM, parseEvent, type ConsumedEvent } from './events.js';
import { storeNotifications } from './repositories/notifications.js';
import type { NotificationsDatabase } from './repositories/tables.js';

export type ConsumeResult = 'created' | 'duplicate' | 'invalid';

export interface EventConsumerOptions {
  db: Kysely<NotificationsDatabase>;
  bus: Bus;
  /** Stable per instance across restarts, so its unacknowledged entries come straight back to it. */
  consumerName: string;
  log: FastifyBaseLogger;
  /** How long one read waits for new entries; also the longest a stop can leave a read behind. */
  blockMs?: number;
  batchSize?: number;
  /** Entries another consumer has held unacknowledged this long are taken over (it likely died). */
  claimIdleMs?: number;
  onConsumed?: (result: ConsumeResult, count: number) => void;
  onFailure?: (error: unknown) => void;
}

export interface EventConsumer {
  /** Ends the loop; waits only for a batch being stored, never for a blocking read. */
  stop(): Promise<void>;
}

const BACKOFF_START_MS = 200;
const MAX_BACKOFF_MS = 5_000;

export function startEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { db, bus, consumerName, log } = options;
  const readOptions = { count: options.batchSize ?? 100, blockMs: options.blockMs ?? 1_000, claimIdleMs: options.claimIdleMs ?? 15_000 };
  let stopped = false;
  let storing: Promise<void> | undefined;
  /** Aborted by stop(): cuts a backoff sleep short. */
  const stopping = new AbortController();

  const handle = async (entries: StreamEntry[]): Promise<void> => {
    const events: ConsumedEvent[] = [];
    let invalid = 0;
    for (const entry of entries) {
      const parsed = parseEvent(entry.fields);
      if (parsed.ok) events.push(parsed.event);
      else {
        invalid += 1;
        log.warn({ entryId: entry.id, reason: parsed.reason }, 'skipping an event that does not parse');
      }
    }
    // Store first, acknowledge after: a crash in between means a redelivery, which the unique event id absorbs.
    const created = await storeNotifications(db, events);
    if (created > 0) options.onConsumed?.('created', created);
    if (events.length > created) options.onConsumed?.('duplicate', events.length - created);
    if (invalid > 0) options.onConsumed?.('invalid', invalid);
    await bus.streamAck(ORDER_EVENTS_STREAM, CONSUMER_GROUP, entries.map((entry) => entry.id));
  };

  void (async () => {
    let groupReady = false;
    let failures = 0;
    while (!stopped) {
      try {
        if (!groupReady) {
          await bus.streamEnsureGroup(ORDER_EVENTS_STREAM, CONSUMER_GROUP);
          groupReady = true;
        }
        const entries = await bus.streamReadGroup(ORDER_EVENTS_STREAM, CONSUMER_GROUP, consumerName, readOptions);
        // Stopped during the read: leave what it got pending; it is redelivered, never lost.
        if (stopped) break;
        if (entries.length === 0) continue;
        storing = handle(entries);
        await storing;
        if (failures > 0) log.info({ failures }, 'event consumer recovered');
        failures = 0;
      } catch (error) {
        if (stopped) break;
        failures += 1;
        options.onFailure?.(error);
        if (failures === 1) log.warn({ err: error }, 'event consumer failed; retrying with backoff');
        else log.debug({ err: error, failures }, 'event consumer still failing');
        await delay(Math.min(BACKOFF_START_MS * 2 ** failures, MAX_BACKOFF_MS), undefined, { signal: stopping.signal }).catch(() => {});
      } finally {
        storing = undefined;
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      stopping.abort();
      await storing?.catch(() => {});
    },
  };
}
