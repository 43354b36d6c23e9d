/** Small timing helpers: sleeping, bounded polling, percentiles for the printed figures. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `intervalMs` until it is true or `timeoutMs` passed; the elapsed ms, or undefined. */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<number | undefined> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() >= deadline) return undefined;
    await sleep(options.intervalMs ?? 50);
  }
}

/** Nearest-rank percentile of `values` (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function describeLatencies(values: readonly number[]): string {
  if (values.length === 0) return 'n=0';
  const fmt = (n: number) => `${n.toFixed(1)} ms`;
  return `n=${values.length} p50=${fmt(percentile(values, 50))} p99=${fmt(percentile(values, 99))} max=${fmt(Math.max(...values))}`;
}
