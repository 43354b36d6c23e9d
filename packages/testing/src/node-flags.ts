/**
 * A service's Node flags (e.g. the gateway's heap sizing) are written once, in the `start` script
 * of services/<name>/package.json (`node <flags> dist/main.js`). The benchmark runner and the
 * scale-test harness start each service with exactly those flags, and the agreement test holds
 * the Dockerfile, docker-compose.yml and the Kubernetes manifests to them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The flags between `node` and the script in the service's start script; [] when there are none. */
export function serviceNodeFlags(repoRoot: string, service: string): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'services', service, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (pkg.scripts?.start ?? '').trim().split(/\s+/);
  if (words[0] !== 'node') return [];
  const flags: string[] = [];
  for (const word of words.slice(1)) {
    if (!word.startsWith('-')) break;
    flags.push(word);
  }
  return flags;
}
