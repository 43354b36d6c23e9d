/**
 * The results' shape (bench/results/latest.json) and their markdown form (docs/benchmarks.md).
 * The JSON keeps every figure, every run and every ratio; the markdown shows the medians.
 */
import type { RevocationResult } from './revocation.js';

export interface RunFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** CPU (user + system) of the server under test per request served, µs. */
  cpuUsPerRequest: number;
  /** CPU of the echo upstream per request, µs (null when the upstream is the server under test). */
  upstreamCpuUsPerRequest: number | null;
  /** Peak RSS of the server under test sampled during the run, MiB. */
  rssMb: number;
  /** The round the run belonged to (0-based; absent for one-off runs), for pairing runs across scenarios. */
  round?: number;
}

export interface ScenarioSummary {
  key: string;
  label: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  upstreamCpuUsPerRequest: number | null;
  rssMb: number;
  runs: RunFigures[];
  /** First-pass scenario only: more requests than fresh tokens, so some were cache hits. */
  wrapped?: boolean;
  /** Many-token scenario: how many times the timed runs went round the whole token list. */
  passesOverTokens?: number;
}

export interface RateSummary {
  label: string;
  rate: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerOp: number | null;
  runs: number[];
  /** CPU µs per operation of each run (for ratios paired by round). */
  cpuRuns?: number[];
  /** Refresh: queries sent to PostgreSQL per refresh, counted in the service's pg driver (median of runs). */
  pgRoundTripsPerOp?: number | null;
  /** Refresh: CPU of PostgreSQL's backends per refresh, µs, from /proc (median of runs). */
  pgCpuUsPerOp?: number | null;
}

/** One figure over several whole runs (`pnpm bench --runs N`). */
export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
  values: (number | null)[];
}

export interface Target {
  name: string;
  key: string;
  value: number | null;
  limit: number;
  higherIsBetter: boolean;
  /** The same comparison by CPU per request (requests one core carries), where it applies. */
  byCpu: number | null;
  met: boolean | null;
}

export interface BenchReport {
  mode: 'quick' | 'full';
  date: string;
  durationSec: number;
  command: string;
  machine: { cpu: string; cores: number; memoryGb: number; node: string; platform: string; commit: string; wrk: string };
  settings: Record<string, number | boolean>;
  checks: Record<string, string>;
  scenarios: ScenarioSummary[];
  /** null in a partial run (--proxy-only). */
  auth: {
    concurrency: number;
    argon2Parameters: string | null;
    login: RateSummary | null;
    /** baselines/minimal-login.ts; null in a quick run or without PostgreSQL and Redis. */
    loginReference: RateSummary | null;
    argon2Raw: RateSummary | null;
    refresh: RateSummary | null;
    /** One core's RS256 signatures per second (node:crypto): the fixed reference for refresh. */
    rs256Sign: RateSummary | null;
    /** Refresh with SIGNING_ALG=ES256 / EdDSA, as context. */
    refreshByAlg: Record<string, RateSummary | null>;
    jwks: RateSummary;
  } | null;
  revocation: (RevocationResult & { gateways: number }) | null;
  ratios: Record<string, number | null>;
  /** Throughput comparisons recomputed from CPU per request: capacity per core. */
  capacity_ratios: Record<string, number | null>;
  revocation_p99_ms: number | null;
  gateway_rss_mb: number;
  /** The gateway's own /metrics after the proxy phase: RSS, V8 heap, external memory, cached tokens. */
  gateway_memory_after_load: Record<string, number>;
  targets: Target[];
  /** `--runs N`: the whole runs this report is the median of; each ratio's spread over them. Null for one run. */
  runs: { count: number; files: string[]; spread: Record<string, Spread> } | null;
  notes: string[];
}

/** The targets of issue 19 (every one against a fixed reference), met or missed. */
export function targetsOf(report: Pick<BenchReport, 'ratios' | 'capacity_ratios' | 'revocation_p99_ms' | 'gateway_rss_mb'>): Target[] {
  const r = report.ratios;
  return [
    { name: 'gateway, full verification ÷ bare fastify + @fastify/reply-from (2r), throughput', key: 'auth_vs_reference', value: r.auth_vs_reference ?? null, limit: 0.9, higherIsBetter: true },
    { name: 'the same, p99 latency', key: 'p99_auth_vs_reference', value: r.p99_auth_vs_reference ?? null, limit: 1.5, higherIsBetter: false },
    { name: 'gateway, 10,000 tokens round-robin ÷ 2r', key: 'cold_vs_reference', value: r.cold_vs_reference ?? null, limit: 0.75, higherIsBetter: true },
    { name: 'gateway, every token new ÷ 2r', key: 'first_pass_vs_reference', value: r.first_pass_vs_reference ?? null, limit: 0.5, higherIsBetter: true },
    { name: 'gateway, full verification ÷ express + jsonwebtoken + http-proxy-middleware', key: 'auth_vs_baseline', value: r.auth_vs_baseline ?? null, limit: 5, higherIsBetter: true },
    { name: 'POST /auth/refresh per second ÷ RS256 signatures per second of one core (node:crypto, same key size, same run)', key: 'refresh_vs_rs256_sign', value: r.refresh_vs_rs256_sign ?? null, limit: 0.35, higherIsBetter: true },
    { name: "raw argon2id verify CPU ÷ auth's CPU per login", key: 'login_cpu_vs_argon2_cpu', value: r.login_cpu_vs_argon2_cpu ?? null, limit: 0.9, higherIsBetter: true },
    { name: 'logout sent → refused by every gateway, p99 (ms)', key: 'revocation_p99_ms', value: report.revocation_p99_ms, limit: 50, higherIsBetter: false },
    { name: 'gateway peak RSS under load (MB)', key: 'gateway_rss_mb', value: report.gateway_rss_mb, limit: 150, higherIsBetter: false },
  ].map((t) => ({
    ...t,
    byCpu: report.capacity_ratios[t.key] ?? null,
    met: t.value === null ? null : t.higherIsBetter ? t.value >= t.limit : t.value <= t.limit,
  }));
}

function spreadOf(values: (number | null | undefined)[]): Spread {
  const finite = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  const mid = Math.floor(finite.length / 2);
  const median = finite.length === 0 ? null : finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
  return { median: median === null ? null : Math.round(median * 1000) / 1000, min: finite[0] ?? null, max: finite.at(-1) ?? null, values: values.map((v) => v ?? null) };
}

/**
 * Several whole runs as one report: every ratio, capacity ratio and top-level target figure is
 * the median over the runs, with its spread; the scenario and auth tables are the last run's.
 */
export function aggregateReports(reports: BenchReport[], command: string): BenchReport {
  const last = reports.at(-1)!;
  const spread: Record<string, Spread> = {};
  const medianOf = (key: string, pick: (report: BenchReport) => number | null | undefined): number | null => {
    spread[key] = spreadOf(reports.map(pick));
    return spread[key].median;
  };
  const ratios = Object.fromEntries(Object.keys(last.ratios).map((key) => [key, medianOf(key, (r) => r.ratios[key])]));
  const capacity = Object.fromEntries(Object.keys(last.capacity_ratios).map((key) => [key, spreadOf(reports.map((r) => r.capacity_ratios[key])).median]));
  const aggregated: BenchReport = {
    ...last,
    command,
    ratios,
    capacity_ratios: capacity,
    revocation_p99_ms: medianOf('revocation_p99_ms', (r) => r.revocation_p99_ms),
    gateway_rss_mb: medianOf('gateway_rss_mb', (r) => r.gateway_rss_mb) ?? last.gateway_rss_mb,
    runs: { count: reports.length, files: reports.map((_, i) => `bench/results/runs/${i + 1}.json`), spread },
    notes: [...new Set(reports.flatMap((r) => r.notes))],
  };
  medianOf('refresh_per_s', (r) => r.auth?.refresh?.rate);
  medianOf('rs256_signs_per_s', (r) => r.auth?.rs256Sign?.rate);
  medianOf('refresh_auth_cpu_us', (r) => r.auth?.refresh?.cpuUsPerOp);
  medianOf('refresh_pg_round_trips', (r) => r.auth?.refresh?.pgRoundTripsPerOp);
  medianOf('refresh_pg_cpu_us', (r) => r.auth?.refresh?.pgCpuUsPerOp);
  aggregated.targets = targetsOf(aggregated);
  return aggregated;
}

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function renderMarkdown(report: BenchReport, analysis = ''): string {
  const s = report.settings;
  const lines: string[] = [];
  lines.push('# Benchmarks', '');
  lines.push(
    `Generated by \`${report.command}\` on ${report.date.slice(0, 16).replace('T', ' ')} UTC in ${report.durationSec} s; every figure is in ` +
      '`bench/results/latest.json`. Reproduce from the repository root (wrk from Debian: `apt-get install -y wrk`):',
    '',
    '```sh',
    'pnpm install && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379 pnpm bench --runs 3',
    '```',
    '',
    '`pnpm bench` alone is one whole run (under 5 minutes); `--runs 3` runs it three times, one after another, and reports the median of each ratio with its spread over the runs (each run\'s full results stay in `bench/results/runs/`).',
    '',
  );
  lines.push(
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGb} GiB, ${report.machine.platform}; Node ${report.machine.node}; ` +
      `${report.machine.wrk}; commit ${report.machine.commit}. Load: wrk, 1 thread, ${s.connections} keep-alive connections; ` +
      `${s.warmupSec} s warm-up per scenario, then ${s.rounds} rounds of one ${s.durationSec} s run per scenario (scenarios 1, 2 and 5b, which no target compares, every other round), each started on quiet CPUs, median reported; within a round the scenarios the targets compare run back to back (4 2r 3 5, then 3 2r 4 5). ` +
      'Absolute numbers drift on a shared 2-core machine (load generator, servers and other work share the cores); the ratios, measured in the same run, are what the targets are about. ' +
      'Each ratio is the median of the per-round ratios (both sides measured in the same round, seconds apart). Every reference is fixed: nothing keygate changes moves it.',
    '',
  );

  const spread = report.runs?.spread;
  const range = (key: string, digits = 2) => {
    const sp = spread?.[key];
    return sp ? `${fmt(sp.min, digits)}–${fmt(sp.max, digits)}` : 'one run';
  };
  lines.push(
    '## Targets',
    '',
    report.runs ? `Median of ${report.runs.count} whole runs; the spread column is the lowest and highest of the runs.` : 'One whole run.',
    '',
    '| name in latest.json | target | measured | limit | met | spread over runs | same comparison by CPU |',
    '|---|---|---:|---:|:---:|---:|---:|',
  );
  for (const t of report.targets) {
    lines.push(
      `| \`${t.key}\` | ${t.name} | ${t.value === null ? 'not measured' : fmt(t.value, 2)} | ${t.higherIsBetter ? '≥' : '≤'} ${fmt(t.limit, 2)} | ${t.met === null ? '–' : t.met ? 'met' : '**missed**'} | ${range(t.key)} | ${fmt(t.byCpu, 2)} |`,
    );
  }
  lines.push(
    '',
    '"Measured" is the target as the issue states it (throughput or latency, median of the per-round ratios). The last column is the same ' +
      'comparison by CPU per request of the server under test (requests one core can carry): when other work shares the two cores, throughput ' +
      'follows the scheduler as much as the server, while CPU per request stays a property of the server.',
    '',
  );

  lines.push(
    '## Gateway, upstream and the usual stack',
    '',
    '| scenario | req/s | p50 ms | p99 ms | CPU µs/req (server under test) | upstream CPU µs/req | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const sc of report.scenarios) {
    let label = sc.wrapped ? `${sc.label} (more requests than tokens: some were cache hits)` : sc.label;
    if (sc.passesOverTokens !== undefined) label += ` (timed runs went ${fmt(sc.passesOverTokens, 1)} times round the list)`;
    lines.push(`| ${label} | ${fmt(sc.rps)} | ${fmt(sc.p50Ms, 2)} | ${fmt(sc.p99Ms, 2)} | ${fmt(sc.cpuUsPerRequest)} | ${fmt(sc.upstreamCpuUsPerRequest)} | ${fmt(sc.rssMb)} |`);
  }
  lines.push('');
  const r = report.ratios;
  lines.push(
    `Context (not targets): verified / the gateway's own pure-proxy mode ${fmt(r.auth_vs_proxy, 2)}, many tokens / pure proxy ${fmt(r.cold_vs_proxy, 2)}, ` +
      `p99 verified / pure proxy ${fmt(r.p99_auth_vs_proxy, 2)}, verified / express baseline with keep-alive ${fmt(r.auth_vs_baseline_keepalive, 1)}, ` +
      `pure proxy / upstream alone ${fmt(r.proxy_vs_upstream, 2)}, pure proxy / bare fastify + reply-from ${fmt(r.proxy_vs_reference, 2)}` +
      `. Gateway peak RSS over the whole proxy phase: ${fmt(report.gateway_rss_mb)} MB` +
      (report.gateway_memory_after_load.heapUsedMb === undefined
        ? '.'
        : ` (after the load, from its /metrics: RSS ${fmt(report.gateway_memory_after_load.rssMb)} MB, V8 heap ${fmt(report.gateway_memory_after_load.heapUsedMb)} MB used of ${fmt(report.gateway_memory_after_load.heapTotalMb)} MB, external ${fmt(report.gateway_memory_after_load.externalMb)} MB, ${fmt(report.gateway_memory_after_load.verifiedTokensCached)} verified tokens cached).`),
    '',
  );

  const a = report.auth;
  lines.push('## Auth service', '');
  if (a) {
    lines.push(`Concurrency ${a.concurrency} for every row. argon2id parameters: ${a.argon2Parameters ?? '–'}.`, '');
    lines.push(
      '| measure | per second | p50 ms | p99 ms | CPU µs/op of the process doing it | PostgreSQL round trips/op (driver-counted) | PostgreSQL CPU µs/op |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    const algRows = Object.values(a.refreshByAlg ?? {});
    for (const row of [a.login, a.loginReference, a.argon2Raw, a.rs256Sign, a.refresh, ...algRows, a.jwks]) {
      if (row) lines.push(`| ${row.label} | ${fmt(row.rate, 1)} | ${fmt(row.p50Ms, 2)} | ${fmt(row.p99Ms, 2)} | ${fmt(row.cpuUsPerOp)} | ${fmt(row.pgRoundTripsPerOp, 2)} | ${fmt(row.pgCpuUsPerOp)} |`);
    }
    const reference = a.loginReference
      ? `; minimal reference login / raw argon2id ${fmt(r.login_reference_vs_argon2, 2)}, login / minimal reference ${fmt(r.login_vs_reference, 2)}`
      : '';
    lines.push(
      '',
      `Ratios: refresh / one core's RS256 signatures ${fmt(r.refresh_vs_rs256_sign, 2)} (ES256 refresh ${fmt(r.refresh_es256_vs_rs256_sign, 2)}, EdDSA refresh ${fmt(r.refresh_eddsa_vs_rs256_sign, 2)} of the same RS256 figure); ` +
        `raw argon2id CPU / auth CPU per login ${fmt(r.login_cpu_vs_argon2_cpu, 2)} (by throughput: logins / raw argon2id verifies ${fmt(r.login_vs_argon2, 2)}${reference}).`,
      '',
    );
    if (spread?.refresh_per_s) {
      lines.push(
        `Spread over the runs: refresh/s ${range('refresh_per_s', 0)}, RS256 signs/s ${range('rs256_signs_per_s', 0)}, auth CPU per refresh ${range('refresh_auth_cpu_us', 0)} µs, ` +
          `PostgreSQL round trips per refresh ${range('refresh_pg_round_trips', 2)}, PostgreSQL CPU per refresh ${range('refresh_pg_cpu_us', 0)} µs.`,
        '',
      );
    }
  } else {
    lines.push('Not measured in this run.', '');
  }

  lines.push('## Revocation', '');
  if (report.revocation) {
    const v = report.revocation;
    lines.push(
      `Logout through gateway A until both gateway processes (one Redis) refuse the token: ${v.trials} trials, p50 ${fmt(v.p50Ms, 1)} ms, ` +
        `p99 ${fmt(v.p99Ms, 1)} ms, max ${fmt(v.maxMs, 1)} ms, ${v.timeouts} timeouts (3 s). The logout answer itself took p50 ${fmt(v.logoutP50Ms, 1)} ms, ` +
        `p99 ${fmt(v.logoutP99Ms, 1)} ms; from that answer to the later refusal: p50 ${fmt(v.afterAnswerP50Ms, 1)} ms, p99 ${fmt(v.afterAnswerP99Ms, 1)} ms ` +
        '(negative: both gateways refused before the logout answer arrived).',
      '',
    );
  } else {
    lines.push('Not measured in this run (REDIS_URL unset).', '');
  }

  lines.push('## Checks before timing', '', 'Each server was asked once, and what the upstream saw was checked (identity headers, a valid gateway proof, no Authorization):', '');
  for (const [name, status] of Object.entries(report.checks)) lines.push(`- ${name}: ${status}`);
  lines.push('');

  lines.push(
    '## How it is measured',
    '',
    '- The gateway and auth run as production starts them: `node <flags> services/<name>/dist/main.js`, with the Node flags (if any) of the `start` script in `services/<name>/package.json`.',
    '- Every server is its own Node process on 127.0.0.1 started from compiled JavaScript; wrk (C) is the load generator in its own process; the auth loops (which carry the rotating refresh cookie) run in `bench/lib/auth-load` in their own process.',
    '- Any non-2xx answer or socket error fails the run, and every server is probed first, so a fast refusal never counts as throughput.',
    '- CPU per request: user + system time of the server process (all threads) from `/proc/<pid>/stat` over the run, divided by the requests it served. RSS: `/proc/<pid>/status`, sampled every 250 ms.',
    '- Gateway: the real `services/gateway` (`node services/gateway/dist/main.js`), `LOG_LEVEL=warn` (no per-request logs, like the baseline), Redis when `REDIS_URL` is set, rate limiter on with limits raised out of reach. Its JWKS comes from the echo upstream, which publishes the benchmark key; tokens are signed with `@keygate/tokens` exactly as the auth service signs them, each with its own `sub` and `sid`.',
    '- Scenario 2 is a route with `auth: "none"`; 3 and 4 are an `auth: "required"` route to the same upstream. Scenario 4 rotates through its tokens, each run continuing where the previous one stopped; they fit the gateway\'s verified-token cache (`TOKEN_CACHE_SIZE`, 20,000 by default), so after the first pass it measures the cache with a working set of that size; row 4c measures the first pass itself (every token new to the gateway, one short run on a warm process).',
    '- Row 2r (`bench/baselines/fastify-proxy.ts`): the framework the gateway is built on and @fastify/reply-from with nothing else: the fixed reference of the gateway targets.',
    '- Baseline (`bench/baselines/express-gateway.ts`): express 5, jsonwebtoken (RS256, PEM public key, issuer, audience, 30 s skew) and http-proxy-middleware 3 as their READMEs show, stripping `x-user-*`, the proof header and Authorization and adding X-User-ID, X-User-Role, X-Request-ID and the same gateway proof. Row 5 uses the proxy defaults (no agent: a new upstream connection per request, which is what the README example does); row 5b gives it a keep-alive agent.',
    '- Auth: the real `services/auth` on a fresh database, login rate limits raised out of reach. Raw argon2id is `@node-rs/argon2` verify with the parameters imported from `services/auth/dist/accounts/passwords.js`, measured like the login: as many closed loops as login clients, at most as many verifies at once as the service runs (its default `PASSWORD_HASH_CONCURRENCY`, from `services/auth/dist/config.js`), and the CPU of the process (all threads) over the measured window only, as the service is read around its timed run (until 2026-12-03 it ran 4 verifies at once and charged the whole life of the process, start-up and warm-up scaled away by wall time). The refresh reference is RS256 signatures per second of one core: node:crypto `sign` in a synchronous loop in its own process, with a key of the auth service\'s size (`MIN_RSA_MODULUS_BITS`), run right before each refresh run. PostgreSQL round trips per refresh: the service\'s node-postgres `Client#query` calls during the timed run (counted by `bench/lib/count-queries.ts`, loaded with `--import`) divided by its refreshes. PostgreSQL CPU per refresh: user + system time of the database\'s backend processes (`pg_stat_activity` pids, `/proc/<pid>/stat`) over the run, divided by its refreshes. The ES256 and EdDSA refresh rows are the same service on a database of their own with `SIGNING_ALG` set.',
    '- Revocation: auth and two gateway processes share one Redis; per trial a fresh session\'s token is accepted by both, then a logout goes through gateway A while both are polled back to back; the trial ends when the later one answers 401.',
    '',
  );
  if (report.notes.length > 0) {
    lines.push('## Notes on this run', '');
    for (const note of report.notes) lines.push(`- ${note}`);
    lines.push('');
  }
  if (analysis.trim() !== '') lines.push(analysis.trim(), '');
  return `${lines.join('\n')}`;
}
