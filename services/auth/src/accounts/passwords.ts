/**
 * argon2id hashing (OWASP 2025 baseline: m = 19 MiB, t = 2, p = 1) through @node-rs/argon2,
 * at most `concurrency` hashes at a time, and the dummy hash that makes a login for an unknown
 * email cost exactly as much as a real one.
 *
 * Why a cap: every hash takes 19 MiB and a core for ~11 ms. Without one, a burst of logins runs
 * as many hashes as libuv has threads (4 by default, more if UV_THREADPOOL_SIZE says so): on a
 * 2-core machine four 19 MiB working sets evict each other from the cache, so the same hashes
 * take longer in total (bench: ~135 verifies/s at 4 in flight against ~142/s at 2), and RS256
 * signatures (WebCrypto, same thread pool) queue behind them. With the cap, the extra logins wait
 * in a queue in JavaScript, costing nothing; the queue length is a metric. Verifications go
 * before new-password hashes (hash-slots.ts), so registrations cannot make logins wait.
 *
 * Why a bound on that queue (`queueMax`): a hash that waits behind N others waits about
 * N / concurrency hash times, so an unbounded queue turns a burst (registrations from many
 * addresses, a credential-stuffing run) into unbounded latency for every login, with each
 * waiting request holding its socket and body. Past `queueMax` waiting hashes a request is
 * refused at once with 503 and Retry-After (AuthErrors.hashQueueFull): the caller retries
 * shortly, and the requests already queued keep a bounded wait.
 */
import { hash, verify, type Options } from '@node-rs/argon2';
import { AuthErrors } from '../errors.js';
import { HashSlots, QueueFullError, type Lane } from './hash-slots.js';

export const ARGON2_OPTIONS: Options = {
  // Algorithm.Argon2id; the enum is a `const enum` that isolated modules cannot read.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** The argon2 primitives the hasher schedules (a test passes instrumented ones). */
export interface Argon2Primitives {
  hash(password: string, options: Options): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed stored hash (never throws on bad input; only when the queue is full). */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** A real argon2id hash of a random string, computed once per hasher with the same parameters. */
  dummyHash(): Promise<string>;
  /** Hashes running now, and waiting for a slot. */
  readonly load: { active: number; queued: number };
}

export interface PasswordHasherOptions {
  /** Hashes run at once (PASSWORD_HASH_CONCURRENCY). */
  concurrency: number;
  /** Hashes that may wait for a slot (PASSWORD_HASH_QUEUE_MAX); one more is refused with 503. Unbounded when absent (one-shot tools such as authctl). */
  queueMax?: number;
  /** Called for each refused hash (a metric). */
  onRejected?: () => void;
  primitives?: Argon2Primitives;
}

/** `hash` and `verify` throw AuthErrors.hashQueueFull (503) when `queueMax` hashes already wait. */
export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const primitives = options.primitives ?? { hash, verify };
  const slots = new HashSlots(options.concurrency, options.queueMax ?? Infinity);
  const schedule = async <T>(lane: Lane, work: () => Promise<T>): Promise<T> => {
    try {
      return await slots.run(lane, work);
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      options.onRejected?.();
      throw AuthErrors.hashQueueFull();
    }
  };
  let dummy: Promise<string> | undefined;
  const hashPassword = (password: string): Promise<string> => schedule('normal', () => primitives.hash(password, ARGON2_OPTIONS));
  return {
    hash: hashPassword,
    verify: (passwordHash, password) =>
      schedule('urgent', async () => {
        try {
          return await primitives.verify(passwordHash, password);
        } catch {
          return false;
        }
      }),
    dummyHash() {
      // A refused (queue full) attempt is not remembered: the next call tries again.
      dummy ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`).catch((error: unknown) => {
        dummy = undefined;
        throw error;
      });
      return dummy;
    },
    get load() {
      return { active: slots.active, queued: slots.queued };
    },
  };
}
