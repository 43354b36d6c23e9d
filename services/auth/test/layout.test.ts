// The dependency rule of src/ (docs/architecture.md, "The auth service"): routes → service →
// repository inside a feature folder. A route never imports a repository nor writes audit rows,
// and no file imports another feature's repository. Checked on the import statements of the real
// tree, and on a made-up tree so the checker itself is known to catch each violation. The same for
// the tables: each has one owning feature, and only that feature's repositories write it.
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

/** The feature that owns each table of db/schema.ts: only its repositories insert, update or delete rows. */
const TABLE_OWNERS: Record<string, string> = {
  'auth.users': 'accounts',
  'auth.sessions': 'sessions',
  'auth.refresh_tokens': 'sessions',
  'auth.signing_keys': 'keys',
  'auth.audit_events': 'audit',
  'auth.oauth_clients': 'oauth',
  'auth.authorization_codes': 'oauth',
  'auth.revoked_access_tokens': 'revocations',
  'auth.revoked_clients': 'revocations',
  'auth.consents': 'consents',
  'auth.mfa_totp': 'mfa',
  'auth.mfa_recovery_codes': 'mfa',
  'auth.mfa_login_tokens': 'mfa',
  'auth.deleted_account_sessions': 'revocations',
  'auth.mail_outbox': 'mail',
  'auth.account_tokens': 'accounts',
};

/**
 * Writes to another feature's table that a recorded decision allows: a login writes its session,
 * first refresh token and login_success audit row in one statement, one round trip instead of five
 * (docs/decisions-auth.md, "Login in one statement").
 */
const ALLOWED_FOREIGN_WRITES: Record<string, string[]> = { 'sessions/repository.ts': ['auth.audit_events'] };

/** Kysely's insertInto/updateTable/deleteFrom/mergeInto('auth.t') and SQL text's insert into / update / delete from "auth"."t". */
const WRITE = /\b(?:insertInto|updateTable|deleteFrom|mergeInto)\(\s*'(auth\.\w+)'|\b(?:insert\s+into|update|delete\s+from|merge\s+into)\s+"?auth"?\."?(\w+)"?/gi;

/** The tables a source text writes. */
export function tablesWritten(text: string): string[] {
  return [...new Set([...text.matchAll(WRITE)].map((m) => m[1] ?? `auth.${m[2]}`))];
}

/** File → tables it writes: only a repository writes, and only its own feature's tables. */
export function tableViolations(writes: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [file, tables] of writes) {
    for (const table of tables) {
      const owner = TABLE_OWNERS[table];
      if (owner === undefined) found.push(`${file} writes ${table}, which has no owner in TABLE_OWNERS`);
      else if (!isRepository(file)) found.push(`${file} writes ${table} but is not a repository`);
      else if (featureOf(file) !== owner && !ALLOWED_FOREIGN_WRITES[file]?.includes(table)) found.push(`${file} writes ${table}, a table of ${owner}/`);
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

test('each table is written by its own feature\'s repositories only', async (t) => {
  const schema = readFileSync(join(SRC, 'db/schema.ts'), 'utf8');
  const tables = [...schema.matchAll(/^\s*'(auth\.\w+)': \w+Table;/gm)].map((m) => m[1]!);
  t.ok(tables.length >= 9, `the schema's tables are read (${tables.length})`);
  t.same(tables.filter((table) => TABLE_OWNERS[table] === undefined), [], 'every table has an owning feature');
  const writes = new Map(sourceFiles(SRC).map((file) => [relative(SRC, file).split(sep).join('/'), tablesWritten(readFileSync(file, 'utf8'))]));
  // Not vacuous: both ways of writing are recognised on the real tree.
  t.ok(writes.get('oauth/clients.repository.ts')?.includes('auth.oauth_clients'), 'kysely writes are read');
  t.ok(writes.get('audit/repository.ts')?.includes('auth.audit_events'), 'SQL text writes are read');
  t.same(tableViolations(writes), []);
});

test('the table checker catches each violation', async (t) => {
  t.same(tablesWritten(`db.updateTable('auth.sessions').set({}); db.selectFrom('auth.users')`), ['auth.sessions'], 'a read is not a write');
  t.same(tablesWritten(`prepared('delete from "auth"."refresh_tokens" where x'); sql\`INSERT INTO auth.users (id)\``), ['auth.refresh_tokens', 'auth.users']);
  const writes = new Map([
    ['oauth/clients.repository.ts', ['auth.oauth_clients', 'auth.sessions']],
    ['oauth/clients.ts', ['auth.oauth_clients']],
    ['sessions/repository.ts', ['auth.sessions', 'auth.audit_events', 'auth.users']],
    ['keys/repository.ts', ['auth.billing']],
  ]);
  t.same(tableViolations(writes), [
    'oauth/clients.repository.ts writes auth.sessions, a table of sessions/',
    'oauth/clients.ts writes auth.oauth_clients but is not a repository',
    'sessions/repository.ts writes auth.users, a table of accounts/',
    'keys/repository.ts writes auth.billing, which has no owner in TABLE_OWNERS',
  ]);
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
