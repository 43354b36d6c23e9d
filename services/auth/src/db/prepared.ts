/**
 * Hot-path statements written once as SQL text and handed to kysely already compiled: login and
 * refresh rotation run them hundreds of times a second, and building + compiling the same query
 * through the builder on every call was ~0.9 ms of CPU per rotation (docs/decisions-auth.md,
 * "Hot-path SQL"). The text is what the builder produced for the same query (or, for the refresh
 * rotation since issue 19, one call of a database function). Everything else in the repositories
 * keeps using the builder.
 */
import { CompiledQuery } from 'kysely';
import type { Db } from './schema.js';

export interface PreparedStatement<R> {
  readonly text: string;
  rows(db: Db, parameters: unknown[]): Promise<R[]>;
  first(db: Db, parameters: unknown[]): Promise<R | undefined>;
  run(db: Db, parameters: unknown[]): Promise<void>;
}

export function prepared<R = never>(text: string): PreparedStatement<R> {
  const rows = async (db: Db, parameters: unknown[]): Promise<R[]> => (await db.executeQuery<R>(CompiledQuery.raw(text, parameters))).rows;
  return {
    text,
    rows,
    first: async (db, parameters) => (await rows(db, parameters))[0],
    run: async (db, parameters) => {
      await db.executeQuery(CompiledQuery.raw(text, parameters));
    },
  };
}
