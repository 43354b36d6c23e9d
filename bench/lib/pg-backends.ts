/**
 * PostgreSQL's CPU for one database: the user + system time of its backend processes, read from
 * /proc/<pid>/stat (the server runs on this machine in the benchmark; pg_stat_statements is not
 * installed). The backends are the ones pg_stat_activity lists for the database, the asking
 * connection excluded; a backend that exits between two readings loses its last interval.
 */
import pg from 'pg';
import { cpuMicros } from './proc.js';

export interface BackendCpu {
  /** CPU µs per backend pid at the reading. */
  perPid: Map<number, number>;
}

export async function readBackendCpu(databaseUrl: string): Promise<BackendCpu | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const result = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    const perPid = new Map<number, number>();
    for (const { pid } of result.rows) {
      const cpu = cpuMicros(pid);
      if (cpu !== undefined) perPid.set(pid, cpu);
    }
    return { perPid };
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

/** CPU µs the backends spent between two readings (a backend new in `after` counts from zero). */
export function backendCpuBetween(before: BackendCpu | null, after: BackendCpu | null): number | null {
  if (!before || !after || after.perPid.size === 0) return null;
  let total = 0;
  for (const [pid, cpu] of after.perPid) total += cpu - (before.perPid.get(pid) ?? 0);
  return total;
}
