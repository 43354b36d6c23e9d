/**
 * Steady client load through the front: each worker is one logged-in user that reads its orders
 * and notifications, sometimes places an order, regularly refreshes its session and, if asked,
 * logs in again (continuing with the new session), recording every reply against the status the
 * contract promises. Bounded in iterations and time; `stop()` ends it.
 */
import { describe, peek, protectedGet, refresh, sessionFrom, tryCall, type Reply, type Session } from './client.js';
import { sleep } from './timing.js';

export interface Failure {
  kind: string;
  at: number;
  detail: string;
}

export class LoadRecorder {
  readonly counts = new Map<string, { ok: number; failed: number }>();
  readonly failures: Failure[] = [];
  /** Attempts that failed and were then retried (only with `retries` > 0). */
  retried = 0;
  /** The orders the client got a 201 for, by user id: what must be in orders' database, once each. */
  readonly placedOrders = new Map<string, string[]>();
  /** 201s marked `Idempotent-Replayed: true`: an order a resend found already placed. */
  replayedOrders = 0;
  /** The sessions (sid) of the logins the client got a 200 for, by user id: what must be live in auth's database. */
  readonly loggedIn = new Map<string, string[]>();
  private readonly startedAt = Date.now();

  record(kind: string, reply: Reply, ok: boolean): void {
    const entry = this.counts.get(kind) ?? { ok: 0, failed: 0 };
    if (ok) entry.ok += 1;
    else {
      entry.failed += 1;
      this.failures.push({ kind, at: Date.now() - this.startedAt, detail: describe(reply) });
    }
    this.counts.set(kind, entry);
  }

  /** Notes an order a 201 answered (its body's id and user_id). */
  placed(reply: Reply): void {
    const body = reply.body as { id?: unknown; user_id?: unknown } | undefined;
    if (typeof body?.id !== 'string' || typeof body.user_id !== 'string') throw new Error(`a 201 for POST /orders without an order: ${describe(reply)}`);
    if (reply.headers.get('idempotent-replayed') === 'true') this.replayedOrders += 1;
    const ids = this.placedOrders.get(body.user_id) ?? [];
    ids.push(body.id);
    this.placedOrders.set(body.user_id, ids);
  }

  /** Notes a login a 200 answered (its access token's sid). */
  loggedInto(session: Session): void {
    const { sub, sid } = peek(session.accessToken);
    if (sub === undefined || sid === undefined) throw new Error('a 200 login without sub and sid');
    this.loggedIn.set(sub, [...(this.loggedIn.get(sub) ?? []), sid]);
  }

  get total(): number {
    let sum = 0;
    for (const { ok, failed } of this.counts.values()) sum += ok + failed;
    return sum;
  }

  get failed(): number {
    return this.failures.length;
  }

  summary(): string {
    const seconds = (Date.now() - this.startedAt) / 1000;
    const kinds = [...this.counts.entries()].map(([kind, { ok, failed }]) => `${kind} ${ok} ok/${failed} failed`).join(', ');
    return `${this.total} requests in ${seconds.toFixed(1)} s (${(this.total / seconds).toFixed(0)}/s): ${kinds}; retried attempts ${this.retried}; orders answered as replays ${this.replayedOrders}`;
  }

  describeFailures(limit = 10): string {
    return this.failures
      .slice(0, limit)
      .map((f) => `  +${f.at} ms ${f.kind}: ${f.detail}`)
      .join('\n');
  }
}

export interface LoadOptions {
  base: string;
  /** One worker per session; the worker keeps it current across refreshes. */
  sessions: Session[];
  pauseMs?: number;
  /** Every Nth operation refreshes (default 8). */
  refreshEvery?: number;
  /** Every Nth operation places an order (default 5). */
  orderEvery?: number;
  /** Every Nth operation logs in again and continues with the new session (default 0: never). */
  loginEvery?: number;
  maxIterations?: number;
  maxDurationMs?: number;
  /** Attempts after the first one for a failed operation (401 invalid_grant is never retried). */
  retries?: number;
  /** Called with every access token a refresh returns. */
  onToken?: (token: string) => void;
  /** Every request on a connection of its own (a client without keep-alive; see CallOptions). */
  newConnectionPerRequest?: boolean;
}

export interface RunningLoad {
  recorder: LoadRecorder;
  /** Ends the loops and resolves when every worker has finished its current operation. */
  stop(): Promise<void>;
  /** Resolves when the workers end by themselves (bounds reached). */
  done: Promise<void>;
}

type Operation = 'read' | 'inbox' | 'order' | 'refresh' | 'login';

async function attempt(
  options: LoadOptions,
  session: Session,
  operation: Operation,
  index: number,
): Promise<{ reply: Reply; ok: boolean; final: boolean }> {
  const newConnection = options.newConnectionPerRequest ?? false;
  if (operation === 'refresh') {
    const reply = await refresh(options.base, session, { newConnection });
    const next = sessionFrom(session.credentials, reply);
    if (next) {
      session.accessToken = next.accessToken;
      session.cookie = next.cookie;
      options.onToken?.(next.accessToken);
      return { reply, ok: true, final: true };
    }
    // A broken chain (spent token, revoked session) must never be hidden by a retry.
    return { reply, ok: false, final: reply.status === 401 };
  }
  if (operation === 'login') {
    const reply = await tryCall(options.base, 'POST', '/auth/login', { json: session.credentials, newConnection });
    const next = sessionFrom(session.credentials, reply);
    if (!next) return { reply, ok: false, final: reply.status === 401 };
    session.accessToken = next.accessToken;
    session.cookie = next.cookie;
    options.onToken?.(next.accessToken);
    return { reply, ok: true, final: true };
  }
  if (operation === 'order') {
    const reply = await tryCall(options.base, 'POST', '/orders', {
      token: session.accessToken,
      json: { item: `scale item ${index}`, quantity: 1 },
      newConnection,
    });
    return { reply, ok: reply.status === 201, final: reply.status === 201 || reply.status === 401 };
  }
  const reply =
    operation === 'inbox'
      ? await tryCall(options.base, 'GET', '/notifications', { token: session.accessToken, newConnection })
      : await protectedGet(options.base, session.accessToken, { newConnection });
  return { reply, ok: reply.status === 200 && Array.isArray(reply.body), final: reply.status === 200 || reply.status === 401 };
}

export function startLoad(options: LoadOptions): RunningLoad {
  const recorder = new LoadRecorder();
  let stopping = false;
  const deadline = Date.now() + (options.maxDurationMs ?? 60_000);
  const maxIterations = options.maxIterations ?? 5_000;
  const refreshEvery = options.refreshEvery ?? 8;
  const orderEvery = options.orderEvery ?? 5;
  const loginEvery = options.loginEvery ?? 0;
  const worker = async (session: Session, workerIndex: number): Promise<void> => {
    for (let i = 0; i < maxIterations && !stopping && Date.now() < deadline; i += 1) {
      // Workers start at different points of the cycle so refreshes do not come in bursts.
      const step = i + workerIndex;
      const operation: Operation =
        loginEvery > 0 && step % loginEvery === loginEvery - 2
          ? 'login'
          : step % refreshEvery === refreshEvery - 1
            ? 'refresh'
            : step % orderEvery === 1
              ? 'order'
              : step % 3 === 0
                ? 'inbox'
                : 'read';
      let result = await attempt(options, session, operation, i);
      for (let retry = 0; !result.ok && !result.final && retry < (options.retries ?? 0); retry += 1) {
        recorder.retried += 1;
        await sleep(100 * (retry + 1));
        result = await attempt(options, session, operation, i);
      }
      recorder.record(operation, result.reply, result.ok);
      if (operation === 'order' && result.ok) recorder.placed(result.reply);
      if (operation === 'login' && result.ok) recorder.loggedInto(session);
      await sleep(options.pauseMs ?? 10);
    }
  };
  const done = Promise.all(options.sessions.map((session, index) => worker(session, index))).then(() => {});
  return {
    recorder,
    done,
    async stop() {
      stopping = true;
      await done;
    },
  };
}
