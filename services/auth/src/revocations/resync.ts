/**
 * Re-announces recent revocations from PostgreSQL (the source of truth) to the bus. A revocation
 * published while Redis was down is lost, and a Redis restart without persistence empties the
 * expiring set gateways catch up from; either way a gateway would keep accepting a revoked
 * session's tokens. So the auth service re-publishes every revocation that can still matter
 * (sessions revoked within ACCESS_TOKEN_TTL + skew, unexpired revoked jtis, deleted clients
 * within their window, signing keys revoked within the key retention window):
 * - when its Redis connection is ready again after being lost,
 * - after any failed publish (retried with backoff until it goes through),
 * - and every RESYNC_INTERVAL_MS as a safety net.
 * Repeats are harmless: gateways and the expiring set treat them as no-ops.
 */
import type { AuthContext } from '../context.js';
import { revocationWrites, revocationsStillEnforced } from './service.js';

const RESYNC_INTERVAL_MS = 60_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export class RevocationResync {
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = 0;
  private retryMs = RETRY_MIN_MS;
  private running: Promise<void> | undefined;
  private readonly interval: NodeJS.Timeout;
  private stopped = false;
  private readonly onReady: () => void;
  private readonly removeOnReady: () => void;
  private seenReady = false;

  constructor(private readonly ctx: Pick<AuthContext, 'bus' | 'config' | 'db' | 'log' | 'metrics'>) {
    this.interval = setInterval(() => this.request(0), RESYNC_INTERVAL_MS);
    this.interval.unref();
    // The first 'ready' is the initial connect; every later one follows an outage.
    this.onReady = () => {
      if (this.seenReady) this.request(0);
      this.seenReady = true;
    };
    if (ctx.bus.connection.isConnected()) this.seenReady = true;
    this.removeOnReady = ctx.bus.connection.onReady(this.onReady);
  }

  /** Schedules a re-announcement in `delayMs` (unless one is already scheduled sooner). */
  request(delayMs: number = this.retryMs): void {
    if (this.stopped) return;
    const dueAt = Date.now() + delayMs;
    // Redis coming back ('ready' asks for 0) must not wait out a backoff of up to RETRY_MAX_MS.
    if (this.timer !== undefined) {
      if (this.timerDueAt <= dueAt) return;
      clearTimeout(this.timer);
    }
    this.timerDueAt = dueAt;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
    this.timer.unref();
  }

  /** Re-announces now; resolves when done (failures schedule a retry instead of throwing). */
  run(): Promise<void> {
    this.running ??= this.announce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async announce(): Promise<void> {
    const { ctx } = this;
    try {
      const revocations = await revocationsStillEnforced(ctx);
      const now = Date.now();
      for (const revocation of revocations) {
        if (revocation.untilMs <= now) continue;
        await Promise.all(revocationWrites(ctx.bus, revocation, now));
      }
      this.retryMs = RETRY_MIN_MS;
      if (revocations.length > 0) ctx.log.info({ count: revocations.length }, 'recent revocations re-announced');
    } catch (error) {
      ctx.log.warn({ err: error, retryInMs: this.retryMs }, 're-announcing revocations failed; retrying');
      const delay = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.request(delay);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.interval);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.removeOnReady();
    await this.running?.catch(() => {});
  }
}
