/**
 * Waits until the machine's CPUs are mostly idle before a measured run. A scenario leaves work
 * behind when its load stops: the express baseline's thousands of closed upstream connections
 * (TIME_WAIT, its garbage collector catching up), a server's deferred GC. Measured right after
 * it, the next scenario shares the cores with that tail; in one run of 2026-12-01 scenario 3's
 * p99 was 1.5-4 × scenario 2's in every round where it followed the baseline, and 1.1-1.5 × in
 * the others. Reads /proc/stat (Linux); elsewhere it returns at once.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle + iowait is time nobody ran.
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { idle, total };
  } catch {
    return undefined;
  }
}

export interface QuietResult {
  /** Whether a quiet window was seen before the deadline. */
  quiet: boolean;
  waitedMs: number;
  /** Idle share of the last window, 0-1 (null where /proc/stat is unreadable). */
  idle: number | null;
}

/** Returns once one `windowMs` window had at least `minIdle` of all CPUs idle, or after `maxMs`. */
export async function waitForQuietCpu(options: { minIdle?: number; windowMs?: number; maxMs?: number } = {}): Promise<QuietResult> {
  const minIdle = options.minIdle ?? 0.85;
  const windowMs = options.windowMs ?? 250;
  const maxMs = options.maxMs ?? 3_000;
  const started = performance.now();
  let last: number | null = null;
  for (;;) {
    const before = cpuTimes();
    if (!before) return { quiet: true, waitedMs: 0, idle: null };
    await sleep(windowMs);
    const after = cpuTimes()!;
    const elapsed = after.total - before.total;
    last = elapsed > 0 ? (after.idle - before.idle) / elapsed : 1;
    const waitedMs = Math.round(performance.now() - started);
    if (last >= minIdle) return { quiet: true, waitedMs, idle: last };
    if (waitedMs >= maxMs) return { quiet: false, waitedMs, idle: last };
  }
}
