/**
 * Scenario 7: logout to refusal. Two gateway processes share one Redis with the auth service.
 * Per trial: a fresh session's access token is accepted by both gateways; then, at t0, a logout
 * with that token goes through gateway A while both gateways are polled back to back with the
 * same token; the trial's latency is when the later of the two first answers 401.
 */
import { percentile } from './stats.js';

export interface RevocationResult {
  trials: number;
  timeouts: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Logout answer time (204) through gateway A, median. */
  logoutP50Ms: number;
  logoutP99Ms: number;
  /** From the logout answer to the later refusal (negative: refused before the answer arrived): the bus hop alone. */
  afterAnswerP50Ms: number;
  afterAnswerP99Ms: number;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Access tokens of `count` fresh sessions of one user (login through the auth service). */
export async function loginSessions(authUrl: string, user: { email: string; password: string }, count: number, concurrency: number): Promise<string[]> {
  const tokens: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const response = await fetch(`${authUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
      const body = (await response.json()) as { access_token?: string };
      if (response.status !== 200 || !body.access_token) throw new Error(`login for the revocation trials answered ${response.status}`);
      tokens.push(body.access_token);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tokens;
}

async function status(url: string, token: string): Promise<number> {
  const response = await fetch(url, { headers: bearer(token) });
  await response.arrayBuffer();
  return response.status;
}

/** Polls until the gateway refuses the token; the time of that answer, or undefined on timeout. */
async function pollUntilRefused(url: string, token: string, deadline: number): Promise<number | undefined> {
  while (performance.now() < deadline) {
    const code = await status(url, token);
    if (code === 401) return performance.now();
    if (code !== 200) throw new Error(`${url} answered ${code} while polling for revocation`);
  }
  return undefined;
}

export async function runRevocationTrials(gatewayA: string, gatewayB: string, tokens: readonly string[], timeoutMs = 3_000): Promise<RevocationResult> {
  const latencies: number[] = [];
  const logoutTimes: number[] = [];
  const afterAnswer: number[] = [];
  let timeouts = 0;
  for (const token of tokens) {
    for (const gateway of [gatewayA, gatewayB]) {
      const code = await status(`${gateway}/orders/revocation-probe`, token);
      if (code !== 200) throw new Error(`${gateway} refused a live token before logout (${code})`);
    }
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    const logout = fetch(`${gatewayA}/auth/logout`, { method: 'POST', headers: bearer(token) }).then(async (response) => {
      await response.arrayBuffer();
      if (response.status !== 204) throw new Error(`logout answered ${response.status}`);
      logoutTimes.push(performance.now() - t0);
    });
    const [refusedA, refusedB] = await Promise.all([
      pollUntilRefused(`${gatewayA}/orders/revocation-probe`, token, deadline),
      pollUntilRefused(`${gatewayB}/orders/revocation-probe`, token, deadline),
      logout,
    ]);
    if (refusedA === undefined || refusedB === undefined) {
      timeouts += 1;
      latencies.push(timeoutMs);
    } else {
      latencies.push(Math.max(refusedA, refusedB) - t0);
      afterAnswer.push(Math.max(refusedA, refusedB) - t0 - logoutTimes.at(-1)!);
    }
  }
  return {
    trials: tokens.length,
    timeouts,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    logoutP50Ms: percentile(logoutTimes, 50),
    logoutP99Ms: percentile(logoutTimes, 99),
    afterAnswerP50Ms: percentile(afterAnswer, 50),
    afterAnswerP99Ms: percentile(afterAnswer, 99),
  };
}
