/**
 * Loaded into the auth service by `node --import` during the benchmark only: counts the queries
 * node-postgres sends (every query goes through Client#query, one round trip each) and writes the
 * running total to BENCH_QUERY_COUNT_FILE every 50 ms, so the runner can divide the queries of a
 * timed refresh run by its refreshes. BENCH_PG_FROM is a file of the package that loads pg
 * (@keygate/db), so the patched module is the one the service uses. A counter increment per query
 * is all it adds to the measured process.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.BENCH_QUERY_COUNT_FILE;
const from = process.env.BENCH_PG_FROM;
if (file && from) {
  const pg = createRequire(from)('pg') as { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
  const query = pg.Client.prototype.query;
  let sent = 0;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    sent += 1;
    return query.apply(this, args);
  };
  let written = -1;
  const flush = () => {
    if (sent === written) return;
    written = sent;
    writeFileSync(file, String(sent));
  };
  flush();
  setInterval(flush, 50).unref();
}
