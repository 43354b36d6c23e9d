/** SQL time expressions: expiry is computed by PostgreSQL's clock so every instance agrees. */
import { sql, type RawBuilder } from 'kysely';

export function dbNow(): RawBuilder<Date> {
  return sql<Date>`now()`;
}

export function dbNowPlus(seconds: number): RawBuilder<Date> {
  return sql<Date>`now() + make_interval(secs => ${seconds})`;
}
