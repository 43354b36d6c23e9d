/**
 * Feeds the in-memory revocation list from the bus (agreed wire format: channel `revocations`,
 * expiring set `revoked` for catch-up). Catches up on start, after the subscriber reconnects
 * (onResubscribed) and when the command connection is ready again, so a gateway that missed
 * messages while Redis was away still refuses every revoked session.
 *
 * A `key` revocation (a compromised signing key) goes to the verifier's key source (the JWKS
 * client) instead, which refuses that kid at once, even for tokens verified before.
 *
 * `live` says whether revocations are currently being received: false while Redis is
 * unreachable or before the first catch-up succeeded. What then happens is the operator's
 * choice (REVOCATION_WHEN_REDIS_DOWN): `serve` keeps answering with revocation paused (a metric
 * and a warning say so), `refuse` answers 503 on authenticated routes until it is live again.
 */
import fp from 'fastify-plugin';
import { Gauge, Histogram } from 'prom-client';
import type { Bus } from '@keygate/bus';
import { waitAtMost } from '../wait.js';
import { RevocationList, parseRevocationMember, parseRevocationMessage, publishedAt, type Revocation } from '../revocation-list.js';

export const REVOCATION_CHANNEL = 'revocations';
export const REVOCATION_SET = 'revoked';
const PRUNE_INTERVAL_MS = 10_000;
const CATCH_UP_RETRY_MS = 1_000;
const START_WAIT_MS = 2_000;

export interface RevocationState {
  readonly list: RevocationList;
  /** Whether revocations are being received right now (always true on the in-memory bus once caught up). */
  readonly live: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    revocation: RevocationState;
  }
}

export const revocationPlugin = fp<{ bus: Bus }>(
  async (app, { bus }) => {
    const list = new RevocationList();
    const { jwks } = app.tokens;
    const log = app.log.child({ component: 'revocation' });
    /** Every revocation, from a message or the catch-up set, goes through here. */
    const apply = (revocation: Revocation, now = Date.now()): void => {
      if (revocation.type !== 'key') {
        list.add(revocation, now);
        return;
      }
      if (jwks.revokeKey(revocation.id, revocation.until)) log.warn({ kid: revocation.id }, 'signing key revoked: its tokens are refused');
    };
    let caughtUp = false;
    let connected = true;
    let closed = false;
    let retryTimer: NodeJS.Timeout | undefined;

    const catchUp = async (why: string): Promise<void> => {
      if (closed) return;
      try {
        const members = await bus.listExpiring(REVOCATION_SET);
        const now = Date.now();
        for (const { member, expiresAtMs } of members) {
          const revocation = parseRevocationMember(member, expiresAtMs);
          if (revocation) apply(revocation, now);
        }
        if (!caughtUp || !connected) log.info({ why, entries: list.size }, 'revocation list caught up');
        caughtUp = true;
        connected = true;
      } catch (error) {
        log.warn({ why, err: error }, 'revocation catch-up failed; retrying');
        if (retryTimer === undefined && !closed) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            void catchUp('retry');
          }, CATCH_UP_RETRY_MS);
          retryTimer.unref();
        }
      }
    };

    const lag = new Histogram({
      name: 'gateway_revocation_lag_seconds',
      help: 'Time from the auth service publishing a revocation to this gateway enforcing it.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [app.metrics.registry],
    });
    const unsubscribe = await bus
      .subscribe(REVOCATION_CHANNEL, (message) => {
        const revocation = parseRevocationMessage(message);
        if (!revocation) {
          log.warn({ length: message.length }, 'ignored a malformed revocation message');
          return;
        }
        apply(revocation);
        const at = publishedAt(message);
        if (at !== undefined) lag.observe(Math.max(0, Date.now() - at) / 1000);
      })
      .catch((error: unknown) => {
        // Redis unreachable at start: the subscriber reconnects by itself and onResubscribed catches up.
        log.warn({ err: error }, 'could not subscribe to revocations yet');
        return undefined;
      });
    const removeResubscribed = bus.onResubscribed(() => void catchUp('resubscribed'));

    // The command connection's state tells us when Redis went away, and when it is back.
    const redis = bus.redis;
    const onDown = () => {
      if (connected) log.warn({}, 'Redis unreachable: revocation paused');
      connected = false;
    };
    const onReady = () => void catchUp('reconnected');
    redis?.on('close', onDown);
    redis?.on('ready', onReady);

    const firstCatchUp = catchUp('start');
    const pruner = setInterval(() => list.prune(), PRUNE_INTERVAL_MS);
    pruner.unref();

    const state: RevocationState = {
      list,
      get live() {
        return caughtUp && connected && (redis === undefined || redis.status === 'ready');
      },
    };
    app.decorate('revocation', state);

    new Gauge({
      name: 'gateway_revocation_live',
      help: '1 while revocations are received (Redis reachable and caught up), 0 while revocation is paused.',
      registers: [app.metrics.registry],
      collect() {
        this.set(state.live ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gateway_revoked_entries',
      help: 'Revoked sessions and token ids held in memory.',
      registers: [app.metrics.registry],
      collect() {
        this.set(list.size);
      },
    });

    // Start serving once caught up (normally milliseconds), but never hang start-up on Redis.
    app.addHook('onReady', () => waitAtMost(firstCatchUp, START_WAIT_MS));
    app.addHook('onClose', async () => {
      closed = true;
      clearInterval(pruner);
      if (retryTimer) clearTimeout(retryTimer);
      removeResubscribed();
      redis?.off('close', onDown);
      redis?.off('ready', onReady);
      await unsubscribe?.().catch(() => {});
    });
  },
  { name: 'gateway-revocation', fastify: '5.x', dependencies: ['keygate-metrics', 'gateway-token-verification'] },
);
