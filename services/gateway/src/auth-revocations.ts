/**
 * The revocation list as the auth service reads it from PostgreSQL (GET /internal/revocations),
 * for when Redis cannot give it: a gateway starting, or running, during a Redis outage. The call
 * carries the gateway's own proof (role `gateway`); entries come in the expiring set's form
 * (`<type>:<id>` + until) and are parsed by the same function as the set, so a kind this gateway
 * does not know is skipped rather than failing the whole list.
 */
import { parseRevocationMember, type Revocation } from '@keygate/revocation';
import { INTERNAL_REVOCATIONS_PATH } from '@keygate/internal-api';
import { getAuthInternal, type AuthInternalOptions } from './auth-internal.js';


export type AuthRevocationsOptions = AuthInternalOptions;

/** Loads the full list; throws when auth cannot be reached or answers anything but the list. */
export async function fetchAuthRevocations(options: AuthRevocationsOptions): Promise<Revocation[]> {
  const entries = (await getAuthInternal(options, INTERNAL_REVOCATIONS_PATH)).revocations;
  if (!Array.isArray(entries)) throw new Error('the auth service did not answer a revocation list');
  const out: Revocation[] = [];
  for (const entry of entries as unknown[]) {
    const { member, until } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof member !== 'string' || typeof until !== 'number' || !Number.isFinite(until)) continue;
    const revocation = parseRevocationMember(member, until);
    if (revocation) out.push(revocation);
  }
  return out;
}

/** While revocation is not live: how often the auth service's list is read again. */
export const AUTH_POLL_MS = 1_000;
/** Failed reads back off from AUTH_RETRY_MIN_MS to AUTH_RETRY_MAX_MS: a cold gateway is ready at most that long after auth is back. */
const AUTH_RETRY_MIN_MS = 250;
const AUTH_RETRY_MAX_MS = 2_000;

export interface AuthRevocationPollsOptions extends AuthRevocationsOptions {
  onLoaded(revocations: Revocation[]): void;
  onFailed(error: unknown, consecutiveFailures: number): void;
  /** Asked before each further poll: polling runs only while revocation is not live. */
  keepPolling(): boolean;
}

/** Reads the auth service's list every AUTH_POLL_MS (backing off on failure) while keepPolling() holds; one loop at a time. */
export class AuthRevocationPolls {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private failures = 0;

  constructor(private readonly options: AuthRevocationPollsOptions) {}

  /** Polls now and then repeatedly, unless a loop already runs. */
  start(): void {
    this.run(true);
  }

  /** Polls once now (retrying only failures), unless a loop already runs: that loop's next poll does the same. */
  once(): void {
    this.run(false);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private run(repeat: boolean): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.poll(repeat);
  }

  private async poll(repeat: boolean): Promise<void> {
    this.timer = undefined;
    let delay = AUTH_POLL_MS;
    try {
      const revocations = await fetchAuthRevocations(this.options);
      if (this.stopped) return;
      this.failures = 0;
      this.options.onLoaded(revocations);
    } catch (error) {
      if (this.stopped) return;
      this.failures += 1;
      this.options.onFailed(error, this.failures);
      delay = Math.min(AUTH_RETRY_MIN_MS * 2 ** (this.failures - 1), AUTH_RETRY_MAX_MS);
    }
    if (!(repeat || this.failures > 0) || !this.options.keepPolling()) {
      this.running = false;
      return;
    }
    this.timer = setTimeout(() => void this.poll(repeat), delay);
    this.timer.unref();
  }
}
