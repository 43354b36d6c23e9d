/**
 * What the domain functions need, in one object: built once in app.ts (or the CLI), passed to
 * routes. An /oauth/token implementation gets the same object and calls the same functions.
 */
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Bus } from '@keygate/bus';
import type { AuthConfig } from './config.js';
import type { KeyStore } from './keys/key-store.js';
import type { PasswordHasher } from './accounts/passwords.js';
import type { AuthMetrics } from './metrics.js';
import type { AuthDatabase } from './db/schema.js';

export interface AuthContext {
  config: AuthConfig;
  db: Kysely<AuthDatabase>;
  bus: Bus;
  keys: KeyStore;
  log: FastifyBaseLogger;
  metrics: AuthMetrics;
  /** argon2id, at most PASSWORD_HASH_CONCURRENCY hashes at a time. */
  passwords: PasswordHasher;
  /** Re-announces recent revocations after a failed publish (absent in one-shot tools). */
  revocationResync?: { request(): void };
  /** Sends queued mail now rather than at the next poll (absent without SMTP_URL and in one-shot tools). */
  mail?: { wake(): void };
}

/** Who is calling, for sessions and audit rows. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

/** The first-party client id of the browser/SPA login flow (the `client_id` claim). */
export const FIRST_PARTY_CLIENT_ID = 'keygate-web';
