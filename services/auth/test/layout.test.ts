// The dependency rule of src/ (docs/architecture.md, "The auth service"): routes → service →
// repository inside a feature folder. A route never imports a repository nor writes audit rows,
// and no file imports another feature's repository. Checked on the import statements of the real
// tree, and on a made-up tree so the checker itself is known to catch each violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'tap';

const SRC = resolve(import.meta.dirname, '../src');

/** src-relative path (posix) → the src-relative paths it imports. */
type ImportGraph = Map<string, string[]>;

const isRepository = (path: string) => /(^|[./])repository\.ts$/.test(path.split('/').pop()!);
const isRoutes = (path: string) => /(^|[.-])routes\.ts$/.test(path.split('/').pop()!);
const isAuditWriter = (path: string) => path.startsWith('audit/');
/** The feature folder a file belongs to; files at the top of src/ belong to none. */
const featureOf = (path: string) => (path.includes('/') ? path.split('/')[0] : undefined);

export function violations(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (isRoutes(file) && isRepository(target)) found.push(`${file} (a route) imports the repository ${target}`);
      else if (isRepository(target) && featureOf(file) !== featureOf(target)) found.push(`${file} imports another feature's repository ${target}`);
      if (isRoutes(file) && isAuditWriter(target)) found.push(`${file} (a route) writes audit rows through ${target}`);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm;

function importGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  const posix = (path: string) => relative(SRC, path).split(sep).join('/');
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((m) => posix(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
    graph.set(posix(file), targets);
  }
  return graph;
}

test('src/ keeps the dependency rule', async (t) => {
  const graph = importGraph();
  const files = [...graph.keys()];
  // Not vacuous: the tree has the shape the rule speaks about.
  t.ok(files.filter(isRepository).length >= 8, 'repositories are found by name');
  t.ok(files.filter(isRoutes).length >= 6, 'route files are found by name');
  t.ok(graph.get('sessions/routes.ts')?.includes('sessions/service.ts'), 'imports are read');
  t.same(violations(graph), []);
});

test('the checker catches each violation', async (t) => {
  const graph: ImportGraph = new Map([
    ['sessions/routes.ts', ['sessions/repository.ts', 'audit/service.ts', 'sessions/service.ts']],
    ['oauth/token-routes.ts', ['oauth/clients.repository.ts']],
    ['oauth/introspection.ts', ['sessions/repository.ts', 'oauth/clients.repository.ts']],
    ['cli/sessions.ts', ['accounts/repository.ts']],
    ['app.ts', ['sessions/refresh-tokens.repository.ts']],
    ['sessions/service.ts', ['sessions/repository.ts', 'audit/service.ts', 'accounts/service.ts']],
  ]);
  t.same(violations(graph), [
    'sessions/routes.ts (a route) imports the repository sessions/repository.ts',
    'sessions/routes.ts (a route) writes audit rows through audit/service.ts',
    'oauth/token-routes.ts (a route) imports the repository oauth/clients.repository.ts',
    "oauth/introspection.ts imports another feature's repository sessions/repository.ts",
    "cli/sessions.ts imports another feature's repository accounts/repository.ts",
    "app.ts imports another feature's repository sessions/refresh-tokens.repository.ts",
  ]);
});
