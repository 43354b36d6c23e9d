/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, see `pnpm bench --profile`): self time by
 * function and by package or source area, and inclusive time of chosen functions, so a report can
 * say where a request's time goes.
 * Usage: node bench/dist/lib/profile-summary.js <file> [top=25] [match...]; SKIP_SECONDS=n leaves out start-up.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function area(url: string): string {
  if (url === '') return '(native / V8)';
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[1]!;
  const workspace = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (workspace) return `${workspace[1]}/${workspace[2]}`;
  if (url.startsWith('node:')) return url;
  return url;
}

/**
 * What each sample was done for: the innermost frame of its synchronous stack that belongs to a
 * feature (so a socket write counts for whoever issued it, and work that a middleware reaches by
 * calling `next()` synchronously counts for that work, not for the middleware); only a stack with
 * no feature frame at all falls back to the generic layers (framework, Node's HTTP and sockets).
 * node:crypto is transparent: a signature counts for the code that asked for it.
 */
const FEATURES: [string, RegExp][] = [
  ['rate limiting (incl. its Redis round trip)', /@fastify\/rate-limit|\/ioredis\/|plugins\/rate-limit|plugins\/login-rate-limit/],
  ['security headers (helmet)', /helmet|security-headers/],
  ['metrics (prom-client, latency histogram)', /prom-client|service-kit\/dist\/metrics/],
  ['logging (pino child loggers, redaction)', /\/pino\/|\/pino-std|@pinojs/],
  ['tokens: verify / sign (@keygate/tokens, jose, jsonwebtoken)', /plugins\/token-verification|\/jose\/|jsonwebtoken|\/jwa\/|\/jws\/|packages\/tokens\//],
  ['revocation list', /revocation/],
  ['gateway proof + identity headers', /gateway-trust|upstream-headers/],
  ['path normalisation + route table', /gateway\/dist\/path|route-table/],
  ['argon2', /argon2/],
  ['SQL: kysely query building', /\/kysely\//],
  ['SQL: pg driver (protocol, socket writes)', /\/pg\/|pg-protocol|pg-pool|postgres-date|pg-types/],
  ['proxying (reply-from, undici, http-proxy; upstream socket I/O)', /reply-from|\/undici\/|http-proxy/],
  ['service code (other)', /\/services\/[^/]+\/dist\/|\/packages\/[^/]+\/dist\/|\/bench\/dist\//],
];
const GENERIC: [string, RegExp][] = [
  ['framework core (fastify, express, routing, validation, serialisation)', /\/fastify\/|find-my-way|fast-json-stringify|avvio|toad-cache|@fastify\/|\/express\/|\/router\/|ajv/],
  ['node HTTP server and sockets', /node:_http|node:net|node:internal\/stream_base|node:internal\/streams|node:stream/],
  ['crypto (node:crypto)', /node:internal\/crypto/],
];

function feature(stack: ProfileNode['callFrame'][]): string {
  if (stack[0]?.functionName === '(garbage collector)') return 'garbage collection';
  for (const table of [FEATURES, GENERIC]) {
    for (const frame of stack) {
      const hit = table.find(([, pattern]) => pattern.test(frame.url));
      if (hit) return hit[0];
    }
  }
  return 'other (timers, microtasks, V8 runtime)';
}

export function summarise(file: string, top = 25, match: string[] = [], skipSeconds = 0): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // Self time per node from the sample deltas (µs).
  const self = new Map<number, number>();
  // Samples from the first `skipSeconds` (start-up: module loading, schema compilation) are left out.
  let at = profile.startTime;
  const from = profile.startTime + skipSeconds * 1e6;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName)).reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;

  const fnSelf = new Map<string, number>();
  const areaSelf = new Map<string, number>();
  for (const [id, time] of self) {
    const frame = byId.get(id)!.callFrame;
    if (['(idle)', '(program)'].includes(frame.functionName)) continue;
    const name = `${frame.functionName || '(anonymous)'} ${area(frame.url)}:${frame.lineNumber + 1}`;
    fnSelf.set(name, (fnSelf.get(name) ?? 0) + time);
    areaSelf.set(area(frame.url), (areaSelf.get(area(frame.url)) ?? 0) + time);
  }
  // Inclusive time of frames whose name or url contains a match string (each sample counted once).
  const inclusive = new Map<string, number>();
  if (match.length > 0) {
    for (const [id, time] of self) {
      const seen = new Set<string>();
      for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
        const frame = byId.get(cursor)!.callFrame;
        for (const m of match) {
          if ((frame.functionName.includes(m) || frame.url.includes(m)) && !seen.has(m)) {
            seen.add(m);
            inclusive.set(m, (inclusive.get(m) ?? 0) + time);
          }
        }
      }
    }
  }
  const features = new Map<string, number>();
  for (const [id, time] of self) {
    const stack: ProfileNode['callFrame'][] = [];
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) stack.push(byId.get(cursor)!.callFrame);
    if (['(idle)', '(program)'].includes(stack[0]!.functionName)) continue;
    const label = feature(stack);
    features.set(label, (features.get(label) ?? 0) + time);
  }
  const pct = (v: number) => `${((100 * v) / busy).toFixed(1).padStart(5)}%`;
  const out: string[] = [`busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled`, '', 'by feature (what each sample was done for):'];
  for (const [name, v] of [...features].sort((a, b) => b[1] - a[1])) out.push(`${pct(v)}  ${name}`);
  out.push('', 'self time by area:');
  for (const [name, v] of [...areaSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`${pct(v)}  ${name}`);
  out.push('', 'self time by function:');
  for (const [name, v] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`${pct(v)}  ${name}`);
  if (inclusive.size > 0) {
    out.push('', 'inclusive time:');
    for (const m of match) out.push(`${pct(inclusive.get(m) ?? 0)}  ${m}`);
  }
  return out.join('\n');
}

if (process.argv[1]?.endsWith('profile-summary.js')) {
  const [file, top, ...match] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top] [match...]');
  process.stdout.write(`${summarise(file, Number(top ?? 25), match, Number(process.env.SKIP_SECONDS ?? 0))}\n`);
}
