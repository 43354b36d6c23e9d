/**
 * The HTTP load generator: wrk (C, epoll; Debian package `wrk`) in its own process, so the
 * generator costs little of the two cores the servers share. A Lua `done` hook prints the figures
 * as one JSON line; a second script rotates through a token file for the many-tokens scenario.
 * Any non-2xx/3xx answer or socket error fails the run: a fast 401 must never count as throughput.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
}

export interface WrkOptions {
  url: string;
  durationSec: number;
  connections: number;
  threads?: number;
  headers?: Record<string, string>;
  /** One token per line: each request sends the next one as `Authorization: Bearer …`. */
  tokenFile?: string;
  /** Index of the first token to send (0-based); the rotation wraps round. */
  tokenStart?: number;
  /** Where the Lua scripts are written. */
  workDir: string;
  /** A script of the caller's (the report hook is appended) and its arguments, instead of a token file. */
  lua?: { name: string; source: string; args: string[] };
}

const REPORT_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

const ROTATE_LUA = `
local tokens = {}
local index = 0
init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
  end
  -- Continue the rotation where the previous run stopped (the runner passes the offset), so
  -- successive short runs go round all the tokens instead of replaying the same window.
  index = (tonumber(args[2]) or 0) % #tokens
end
request = function()
  index = index % #tokens + 1
  wrk.headers["Authorization"] = tokens[index]
  return wrk.format(nil, nil, wrk.headers)
end
${REPORT_LUA}
`;

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const script = join(options.workDir, options.lua ? `${options.lua.name}.lua` : options.tokenFile ? 'rotate.lua' : 'report.lua');
  writeFileSync(script, options.lua ? `${options.lua.source}\n${REPORT_LUA}` : options.tokenFile ? ROTATE_LUA : REPORT_LUA);
  const args = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections}`,
    `-d${options.durationSec}s`,
    '--timeout',
    '10s',
    '-s',
    script,
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  if (options.lua) args.push('--', ...options.lua.args);
  else if (options.tokenFile) args.push('--', options.tokenFile, String(options.tokenStart ?? 0));
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}: ${out}`))));
  });
  const line = /WRK_JSON (\{.*\})/.exec(output)?.[1];
  if (!line) throw new Error(`wrk printed no result: ${output}`);
  const raw = JSON.parse(line) as Record<string, number>;
  const seconds = raw.duration_us! / 1e6;
  const result: WrkResult = {
    requests: raw.requests!,
    seconds,
    rps: raw.requests! / seconds,
    p50Ms: raw.p50! / 1000,
    p90Ms: raw.p90! / 1000,
    p99Ms: raw.p99! / 1000,
    maxMs: raw.max! / 1000,
    errors: { connect: raw.connect!, read: raw.read!, write: raw.write!, status: raw.status!, timeout: raw.timeout! },
  };
  const failed = Object.values(result.errors).reduce((a, b) => a + b, 0);
  if (failed > 0 || result.requests === 0) {
    throw new Error(`${options.url}: ${failed} failed requests of ${result.requests} (${JSON.stringify(result.errors)})`);
  }
  return result;
}
