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
 * in a queue in JavaScript, costing nothing; the queue length is a metric.
 */
import { hash, verify, type Options } from '@node-rs/argon2';
import pLimit from 'p-limit';

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
  /** False for a wrong password and for a malformed stored hash (never throws on bad input). */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** A real argon2id hash of a random string, computed once per hasher with the same parameters. */
  dummyHash(): Promise<string>;
  /** Hashes running now, and waiting for a slot. */
  readonly load: { active: number; queued: number };
}

export function createPasswordHasher(options: { concurrency: number; primitives?: Argon2Primitives }): PasswordHasher {
  const primitives = options.primitives ?? { hash, verify };
  const limit = pLimit(options.concurrency);
  let dummy: Promise<string> | undefined;
  const hashPassword = (password: string): Promise<string> => limit(() => primitives.hash(password, ARGON2_OPTIONS));
  return {
    hash: hashPassword,
    async verify(passwordHash, password) {
      try {
        return await limit(() => primitives.verify(passwordHash, password));
      } catch {
        return false;
      }
    },
    dummyHash() {
      dummy ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`);
      return dummy;
    },
    get load() {
      return { active: limit.activeCount, queued: limit.pendingCount };
    },
  };
}
