/**
 * The slots password hashes run in: at most `concurrency` at once, at most `queueMax` waiting,
 * and two lanes. Verifications (a login, a password change's current password) are urgent:
 * they take the next free slot before any waiting hash of a new password (a registration, the
 * new password of a change), and new-password hashes hold at most `concurrency` − 1 slots (when
 * there are two or more), so one slot, and its core, is always left for a login. A burst of
 * registrations, which only the per-IP limit holds back, then does not delay another user's
 * login by the queue nor slow its hash by sharing every core; logins themselves are held back
 * by the login limits. The price: registrations hash on one core fewer (on two cores, ~80 a
 * second instead of ~160, still far above RATE_LIMIT_REGISTER_PER_IP). p-limit (used before)
 * has one FIFO lane only.
 */

export type Lane = 'urgent' | 'normal';

export class QueueFullError extends Error {
  constructor() {
    super('password hash queue is full');
    this.name = 'QueueFullError';
  }
}

export class HashSlots {
  private readonly running: Record<Lane, number> = { urgent: 0, normal: 0 };
  private readonly lanes: Record<Lane, (() => void)[]> = { urgent: [], normal: [] };
  /** Slots normal work may hold at once: all but one, so a verification never waits for a free one. */
  private readonly normalMax: number;

  constructor(
    private readonly concurrency: number,
    private readonly queueMax: number,
  ) {
    this.normalMax = Math.max(1, concurrency - 1);
  }

  get active(): number {
    return this.running.urgent + this.running.normal;
  }

  get queued(): number {
    return this.lanes.urgent.length + this.lanes.normal.length;
  }

  /** Runs `work` in a slot, after waiting in `lane` if none is free to it; rejects with QueueFullError at once when `queueMax` already wait. */
  run<T>(lane: Lane, work: () => Promise<T>): Promise<T> {
    if (this.canStart(lane)) {
      this.running[lane]++;
      return this.execute(lane, work);
    }
    if (this.queued >= this.queueMax) return Promise.reject(new QueueFullError());
    // The slot is counted when `drain` hands it over, so nobody can take it in between.
    return new Promise<void>((resolve) => this.lanes[lane].push(resolve)).then(() => this.execute(lane, work));
  }

  private canStart(lane: Lane): boolean {
    return this.active < this.concurrency && (lane === 'urgent' || this.running.normal < this.normalMax);
  }

  private async execute<T>(lane: Lane, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      this.running[lane]--;
      this.drain();
    }
  }

  /** Hands free slots to waiting work, urgent first. */
  private drain(): void {
    for (;;) {
      const lane: Lane | undefined = this.lanes.urgent.length > 0 && this.canStart('urgent') ? 'urgent' : this.lanes.normal.length > 0 && this.canStart('normal') ? 'normal' : undefined;
      if (lane === undefined) return;
      this.running[lane]++;
      this.lanes[lane].shift()!();
    }
  }
}
