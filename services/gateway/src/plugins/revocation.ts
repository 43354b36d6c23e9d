/**
 * Feeds the in-memory revocation list from the bus (agreed wire format: channel `revocations`,
 * expiring set `revoked` for catch-up). Catches up on start, after the subscriber reconnects
 * (onResubscribed) and when the command connection is ready again, so a gateway that missed
 * messages while Redis was away still refuses every revoked session.
 *
 * A `key` revocation (a compromised signing key) goes to the verifier's key source (the JWKS
 * client) instead, which refuses that kid at once, even for tokens verified before.
 *
 * A gateway never serves authenticated routes with a list it has not caught up at least once
 * (`caughtUp`): until then /readyz is 503 and those routes answer 503. When Redis cannot give the
 * list (a gateway started during a Redis outage), the auth service can: it reads the same
 * revocations from PostgreSQL (GET /internal/revocations, gateway proof). Whenever revocation is
 * not live (start, Redis down) that endpoint is polled every AUTH_POLL_MS, so a revocation made
 * during an outage is still enforced within about a second; failures back off up to 2 s. Once
 * Redis is back, one last poll picks up what the auth service could not publish meanwhile, and
 * polling stops.
 *
 * `live` says whether revocations are currently being received from Redis: false while Redis is
 * unreachable or before the first catch-up succeeded. What then happens to a caught-up gateway
 * is the operator's choice (REVOCATION_WHEN_REDIS_DOWN): `serve` keeps answering with the list
 * it has, kept current by the auth polls (a metric and a warning say Redis is away), `refuse`
 * answers 503 on authenticated routes until it is live again.
 */
import fp from 'fastify-plugin';
import { Gauge, Histogram } from 'prom-client';
import type { Bus } from '@keygate/bus';
import { AuthRevocationPolls } from '../auth-revocations.js';
import { waitAtMost } from '../wait.js';
import {
  REVOCATION_CHANNEL,
  REVOCATION_SET,
  RevocationList,
  parseRevocationMember,
  parseRevocationMessage,
  publishedAt,
  type Revocation,
} from '@keygate/revocation';
const PRUNE_INTERVAL_MS = 10_000;
/** A catch-up that failed on a ready connection; an unreachable Redis is retried on its 'ready' event instead. */
const CATCH_UP_RETRY_MS = 250;
const START_WAIT_MS = 2_000;

export interface RevocationOptions {
  bus: Bus;
  /** The auth service's base URL: where the list comes from while Redis cannot give it. */
  authUrl: string;
  /** The gateway secret, to sign the gateway's own call to the auth service. */
  secret: Buffer;
  fetch?: typeof fetch;
}

export interface RevocationState {
  readonly list: RevocationList;
  /** Whether the list was ever loaded in full (from Redis or the auth service): never serve before. */
  readonly caughtUp: boolean;
  /** Whether revocations are being received right now (always true on the in-memory bus once caught up). */
  readonly live: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    revocation: RevocationState;
  }
}

export const revocationPlugin = fp<RevocationOptions>(
  async (app, { bus, authUrl, secret, fetch }) => {
    const list = new RevocationList();
    const { jwks } = app.tokens;
    const log = app.log.child({ component: 'revocation' });
    /** Every revocation, from a message, the catch-up set or the auth service, goes through here. */
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
    let markCaughtUp: () => void = () => {};
    const firstCatchUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
    const setCaughtUp = (): void => {
      caughtUp = true;
      markCaughtUp();
    };
    /** Set once SUBSCRIBE went through; until then messages are missed. */
    let unsubscribe: (() => Promise<void>) | undefined;
    const isLive = (): boolean => caughtUp && connected && unsubscribe !== undefined && bus.connection.isConnected();
    const authPolls = new AuthRevocationPolls({
      authUrl,
      secret,
      ...(fetch ? { fetch } : {}),
      onLoaded(revocations) {
        const now = Date.now();
        for (const revocation of revocations) apply(revocation, now);
        if (!caughtUp) log.info({ entries: list.size }, 'revocation list loaded from the auth service');
        setCaughtUp();
      },
      onFailed(error, failures) {
        // The first failure of a run is worth a warning; the rest would only repeat it.
        if (failures === 1 && !isLive()) log.warn({ err: error }, 'could not load the revocation list from the auth service; retrying');
      },
      keepPolling: () => !closed && !isLive(),
    });

    const catchUp = async (why: string): Promise<void> => {
      if (closed) return;
      try {
        const members = await bus.listExpiring(REVOCATION_SET);
        const now = Date.now();
        for (const { member, expiresAtMs } of members) {
          const revocation = parseRevocationMember(member, expiresAtMs);
          if (revocation) apply(revocation, now);
        }
        const wasDown = caughtUp && !connected;
        if (!caughtUp || !connected) log.info({ why, entries: list.size }, 'revocation list caught up');
        setCaughtUp();
        connected = true;
        // Revocations made while Redis was away reached PostgreSQL but maybe not (yet) the set.
        if (wasDown) authPolls.once();
      } catch (error) {
        log.warn({ why, err: error }, 'revocation catch-up failed; retrying');
        // Redis unreachable: its 'ready' event catches up. Only a failure on a ready connection is retried here.
        if (bus.connection.isConnected() && retryTimer === undefined && !closed) {
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
    const onMessage = (message: string): void => {
      const revocation = parseRevocationMessage(message);
      if (!revocation) {
        log.warn({ length: message.length }, 'ignored a malformed revocation message');
        return;
      }
      apply(revocation);
      const at = publishedAt(message);
      if (at !== undefined) lag.observe(Math.max(0, Date.now() - at) / 1000);
    };
    // A SUBSCRIBE that fails (Redis unreachable at start) is forgotten by the bus: ioredis only
    // re-subscribes channels it once subscribed. So it is retried until it goes through, and the
    // list is caught up from the set then (messages published before it were missed).
    let subscribeTimer: NodeJS.Timeout | undefined;
    const subscribe = async (): Promise<void> => {
      subscribeTimer = undefined;
      if (closed) return;
      try {
        unsubscribe = await bus.subscribe(REVOCATION_CHANNEL, onMessage);
        if (closed) {
          await unsubscribe().catch(() => {});
          return;
        }
        // Caught up only once subscribed, so nothing published in between is missed.
        void catchUp(subscribeFailed ? 'subscribed' : 'start');
        subscribeFailed = false;
      } catch (error) {
        if (!subscribeFailed) log.warn({ err: error }, 'could not subscribe to revocations yet; retrying');
        subscribeFailed = true;
        if (closed) return;
        subscribeTimer = setTimeout(() => void subscribe(), CATCH_UP_RETRY_MS);
        subscribeTimer.unref();
      }
    };
    let subscribeFailed = false;
    // Not awaited: with Redis down the first attempt takes a few reconnect attempts to fail, and
    // start-up does not wait for Redis (the auth service may give the list instead).
    void subscribe();
    const removeResubscribed = bus.onResubscribed(() => void catchUp('resubscribed'));

    // The bus's connection tells us when Redis went away, and when it is back.
    const removeOnDown = bus.connection.onDown(() => {
      if (connected) log.warn({}, 'Redis unreachable: revocation list now polled from the auth service');
      connected = false;
      authPolls.start();
    });
    const removeOnReady = bus.connection.onReady(() => void catchUp('reconnected'));

    const pruner = setInterval(() => list.prune(), PRUNE_INTERVAL_MS);
    pruner.unref();

    const state: RevocationState = {
      list,
      get caughtUp() {
        return caughtUp;
      },
      get live() {
        return isLive();
      },
    };
    app.decorate('revocation', state);

    // Not live yet at start: the auth service is asked too, in case Redis is down.
    authPolls.start();

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

    // Ready once caught up (normally milliseconds); never hang start-up: /readyz says 503 until then.
    app.addHook('onReady', () => waitAtMost(firstCatchUp, START_WAIT_MS));
    app.addHook('onClose', async () => {
      closed = true;
      authPolls.stop();
      clearInterval(pruner);
      if (retryTimer) clearTimeout(retryTimer);
      if (subscribeTimer) clearTimeout(subscribeTimer);
      removeResubscribed();
      removeOnDown();
      removeOnReady();
      await unsubscribe?.().catch(() => {});
    });
  },
  { name: 'gateway-revocation', fastify: '5.x', dependencies: ['keygate-metrics', 'gateway-token-verification'] },
);
