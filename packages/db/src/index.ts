/** Database access for every service: open (pg or PGlite) and migrate. */
export { createDatabase, nameStatement, openEmbeddedPglite, type DatabaseHandle, type DatabaseKind, type DatabaseOptions } from './database.js';
export { runMigrations, listMigrations, allMigrationOwners, MigrationError, DEFAULT_MIGRATIONS_DIR, type MigrationFile } from './migrations.js';
export { PGliteDialect } from './pglite-dialect.js';
