/**
 * Tells every gateway that sessions are revoked, in the agreed wire format: a message on channel
 * `revocations` and a member of the expiring set `revoked` (for gateways that missed the message).
 * The database row is the source of truth and is written first; publishing is best-effort with a
 * logged error, since a lost message is caught up from the expiring set.
 */
import { CLOCK_SKEW_SECONDS } from '@keygate/tokens';
import type { AuthContext } from '../context.js';

export const REVOCATIONS_CHANNEL = 'revocations';
export const REVOKED_SET = 'revoked';

export async function publishRevocation(ctx: Pick<AuthContext, 'bus' | 'config' | 'log' | 'metrics' | 'revocationResync'>, type: 'session' | 'token', id: string, untilMs?: number): Promise<void> {
  const until = untilMs ?? Date.now() + (ctx.config.accessTokenTtl + CLOCK_SKEW_SECONDS) * 1000;
  // `at` (publish time) lets every gateway measure propagation lag; older gateways ignore it.
  const message = JSON.stringify({ type, id, until, at: Date.now() });
  const results = await Promise.allSettled([ctx.bus.publish(REVOCATIONS_CHANNEL, message), ctx.bus.addExpiring(REVOKED_SET, `${type}:${id}`, until)]);
  for (const result of results) {
    if (result.status === 'rejected') {
      ctx.metrics.revocationPublishFailures.inc();
      ctx.log.error({ err: result.reason, type, id }, 'revocation publish failed');
    }
  }
  // The database already holds the revocation: re-announce it once the bus is reachable again.
  if (results.some((result) => result.status === 'rejected')) ctx.revocationResync?.request();
}

export async function publishSessionRevocations(ctx: Pick<AuthContext, 'bus' | 'config' | 'log' | 'metrics' | 'revocationResync'>, sessionIds: readonly string[]): Promise<void> {
  await Promise.all(sessionIds.map((id) => publishRevocation(ctx, 'session', id)));
}
