/**
 * What the scale tests need from the machine: the real PostgreSQL and Redis (DATABASE_URL,
 * REDIS_URL), Debian's nginx, and the built services. Outside CI a missing server or nginx skips
 * the tests with one clear line; under CI=true it is a failure, never a silent skip. Unbuilt
 * services are always a failure: `pnpm test:scale` builds first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { inCi, realDatabaseUrl, realRedisUrl } from '@keygate/testing';
import { MANIFEST, repoPath } from './services.js';

/** Debian's nginx: /usr/sbin/nginx (packages nginx-light or nginx), or NGINX_BIN. */
export function nginxBinary(): string | undefined {
  const candidates = [process.env.NGINX_BIN, '/usr/sbin/nginx', '/usr/local/sbin/nginx'].filter((path): path is string => !!path);
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  try {
    const found = execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
    return found === '' ? undefined : found;
  } catch {
    return undefined;
  }
}

export function redisServerBinary(): string | undefined {
  for (const candidate of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(candidate)) return candidate;
  try {
    const found = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    return found === '' ? undefined : found;
  } catch {
    return undefined;
  }
}

/**
 * Why the scale tests cannot run here (a string for tap's `skip`), or false. Throws under CI, and
 * whenever a service has not been built.
 */
export function scaleSkipReason(extra: { redisServer?: boolean } = {}): string | false {
  const missing: string[] = [];
  if (!realDatabaseUrl) missing.push('DATABASE_URL (a real PostgreSQL)');
  if (!realRedisUrl) missing.push('REDIS_URL (a real Redis)');
  if (!nginxBinary()) missing.push('nginx (apt-get install nginx-light)');
  if (extra.redisServer && !redisServerBinary()) missing.push('redis-server');
  if (missing.length > 0) {
    const message = `scale tests need ${missing.join(', ')}`;
    if (inCi) throw new Error(`${message}: CI=true requires them`);
    process.stderr.write(`# skip: ${message}\n`);
    return message;
  }
  const unbuilt = MANIFEST.filter((service) => !existsSync(repoPath(service.entryPoint)));
  if (unbuilt.length > 0) {
    throw new Error(
      `not built: ${unbuilt.map((service) => service.entryPoint).join(', ')}; run \`pnpm exec tsc -b\` (pnpm test:scale does)`,
    );
  }
  return false;
}
