/**
 * argon2id hashing (OWASP 2025 baseline: m = 19 MiB, t = 2, p = 1) through @node-rs/argon2, and
 * the dummy hash that makes a login for an unknown email cost exactly as much as a real one.
 */
import { hash, verify, type Options } from '@node-rs/argon2';

export const ARGON2_OPTIONS: Options = {
  // Algorithm.Argon2id; the enum is a `const enum` that isolated modules cannot read.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** False for a wrong password and for a malformed stored hash (never throws on bad input). */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** A real argon2id hash of a random string, computed once per process with the same parameters. */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hash(`dummy-${Math.random()}-${Date.now()}`, ARGON2_OPTIONS);
  return dummy;
}
