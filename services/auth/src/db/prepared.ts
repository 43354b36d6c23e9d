/**
 * Hot-path statements written once as SQL text and handed to kysely already compiled: login and
 * refresh rotation run them hundreds of times a second, and building + compiling the same query
 * through the builder on every call was ~0.9 ms of CPU per rotation (docs/decisions-auth.md,
 * "Hot-path SQL"). The text is what the builder produced for the same query (or, for the refresh
 * rotation since issue 19, one call of a database function). Everything else in the repositories
 * keeps using the builder.
 */
import { CompiledQuery } from 'kysely';
import { nameStatement } from '@keygate/db';
import type { Db } from './schema.js';

export interface PreparedStatement<R> {
  readonly text: string;
  rows(db: Db, parameters: unknown[]): Promise<R[]>;
  first(db: Db, parameters: unknown[]): Promise<R | undefined>;
  run(db: Db, parameters: unknown[]): Promise<void>;
}

export interface PreparedOptions {
  /**
   * Sent as a named (server-side prepared) statement on PostgreSQL: parsed and planned once per
   * connection. Only for a statement whose result columns cannot change under a running instance
   * (see nameStatement in @keygate/db): a database function call, never a `select *` from a table.
   */
  name?: string;
}

export function prepared<R = never>(text: string, options: PreparedOptions = {}): PreparedStatement<R> {
  if (options.name !== undefined) nameStatement(text, options.name);
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
