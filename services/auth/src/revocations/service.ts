/**
 * Tells every gateway that something is revoked, in the agreed wire format: a message on channel
 * `revocations` and a member `<type>:<id>` of the expiring set `revoked` (for gateways that missed
 * the message). Kinds: `session` (sid), `token` (jti), `client` (a deleted client's client_id:
 * every token issued to it) and `key` (a revoked signing key's kid: every token it signed).
 * The database row is the source of truth and is written first; publishing is best-effort with a
 * logged error, since a lost message is caught up from the expiring set or re-announced.
 */
import { REVOCATION_CHANNEL, REVOCATION_SET, encodeRevocationMessage, parseRevocationMessage, revocationMember, type RevocationType } from '@keygate/revocation';
import { CLOCK_SKEW_SECONDS } from '@keygate/tokens';
import type { AuthContext } from '../context.js';
import { retentionSeconds } from '../keys/rotation.js';
import type { Db } from '../db/schema.js';
import { insertDeletedAccountSessions, insertRevokedAccessToken, insertRevokedClient, isAccessTokenRevoked, purgeExpiredTokenRevocations, recentRevocations, type RevocationRecord } from './repository.js';

export type Revocation = RevocationRecord;

/** What announcing a revocation needs: the bus, the windows, somewhere to report a failed publish. */
export type PublishContext = Pick<AuthContext, 'bus' | 'config' | 'log' | 'metrics' | 'revocationResync'>;

/** True for a `key` revocation message: auth instances reload their keys on one at once. */
export function isKeyRevocationMessage(message: string): boolean {
  return parseRevocationMessage(message)?.type === 'key';
}

/**
 * The two writes of one revocation, in the wire format of @keygate/revocation: the channel message
 * (`at`, the publish time, lets every gateway measure propagation lag) and the expiring-set member.
 */
export function revocationWrites(bus: AuthContext['bus'], revocation: Revocation, at = Date.now()): [Promise<void>, Promise<void>] {
  const wire = { type: revocation.type, id: revocation.id, until: revocation.untilMs };
  return [bus.publish(REVOCATION_CHANNEL, encodeRevocationMessage(wire, at)), bus.addExpiring(REVOCATION_SET, revocationMember(wire), revocation.untilMs)];
}

/** How long after a revocation a token issued before it may still pass a verifier: ACCESS_TOKEN_TTL + skew. */
export function accessTokenWindowSeconds(config: Pick<AuthContext['config'], 'accessTokenTtl'>): number {
  return config.accessTokenTtl + CLOCK_SKEW_SECONDS;
}

/**
 * Every revocation a gateway must still enforce, read from PostgreSQL: what the re-announcer
 * publishes again after a Redis outage and what GET /internal/revocations gives a gateway that
 * cannot reach Redis. One function, so the two never disagree on the windows.
 */
export function revocationsStillEnforced(ctx: Pick<AuthContext, 'db' | 'config'>): Promise<RevocationRecord[]> {
  return recentRevocations(ctx.db, { windowSeconds: accessTokenWindowSeconds(ctx.config), skewSeconds: CLOCK_SKEW_SECONDS, keyWindowSeconds: retentionSeconds(ctx.config) });
}

export async function publishRevocation(ctx: PublishContext, type: RevocationType, id: string, untilMs?: number): Promise<void> {
  const results = await Promise.allSettled(revocationWrites(ctx.bus, { type, id, untilMs: untilMs ?? Date.now() + accessTokenWindowSeconds(ctx.config) * 1000 }));
  for (const result of results) {
    if (result.status === 'rejected') {
      ctx.metrics.revocationPublishFailures.inc();
      ctx.log.error({ err: result.reason, type, id }, 'revocation publish failed');
    }
  }
  // The database already holds the revocation: re-announce it once the bus is reachable again.
  if (results.some((result) => result.status === 'rejected')) ctx.revocationResync?.request();
}

export async function publishSessionRevocations(ctx: PublishContext, sessionIds: readonly string[]): Promise<void> {
  await Promise.all(sessionIds.map((id) => publishRevocation(ctx, 'session', id)));
}

/** Whether an access token was revoked by jti (RFC 7009 at /oauth/revoke). */
export function accessTokenRevoked(db: Db, jti: string): Promise<boolean> {
  return isAccessTokenRevoked(db, jti);
}

/** Revokes one access token by jti until `untilMs` (its expiry plus skew) and tells the gateways. */
export async function revokeAccessToken(ctx: PublishContext & Pick<AuthContext, 'db'>, jti: string, untilMs: number): Promise<void> {
  await insertRevokedAccessToken(ctx.db, jti, untilMs);
  await publishRevocation(ctx, 'token', jti, untilMs);
}

/** Records a deleted client's revocation in the caller's transaction; returns until when it holds (epoch ms). */
export function recordClientRevocation(db: Db, clientId: string, windowSeconds: number): Promise<number> {
  return insertRevokedClient(db, clientId, windowSeconds);
}

/**
 * In an account deletion's transaction, after its sessions were revoked: keeps their revocations
 * (and those of sessions revoked within ACCESS_TOKEN_TTL + skew) once the session rows are gone,
 * so the re-announcer and GET /internal/revocations still know them.
 */
export function recordDeletedAccountSessions(db: Db, config: Pick<AuthContext['config'], 'accessTokenTtl'>, userId: string): Promise<void> {
  return insertDeletedAccountSessions(db, userId, accessTokenWindowSeconds(config));
}

/** Forgets access-token revocations past their token's expiry (the purge plugin's task). */
export function purgeExpiredRevocations(db: Db): Promise<void> {
  return purgeExpiredTokenRevocations(db);
}
