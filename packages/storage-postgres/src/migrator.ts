import pg from 'pg';
import { type Migration, migrations } from './migrations.ts';
import type { SqlDriver } from './sql-driver.ts';

/** What one migration run found and did. */
export interface MigrationReport {
  /** The schema's version before: 0 for a schema Steward never migrated. */
  readonly before: number;
  /** The schema's version after. */
  readonly after: number;
  /** The versions this run applied, oldest first; empty when the schema was up to date. */
  readonly applied: readonly number[];
}

/**
 * @internal Applies the pending `list` migrations to `schema`, in one transaction under an
 * advisory lock: one migrator at a time across instances, the others wait, then find nothing to
 * do. A failing migration leaves the schema as it was.
 */
export function runMigrations(
  driver: SqlDriver,
  schema: string,
  list: readonly Migration[] = migrations,
): Promise<MigrationReport> {
  const quoted = pg.escapeIdentifier(schema);
  return driver.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`steward:migrate:${schema}`]);
    await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS ${quoted}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await tx.query<{ version: number }>(`SELECT version FROM ${quoted}.migrations`)).rows.map(
        (row) => row.version,
      ),
    );
    const before = Math.max(0, ...done);
    const applied: number[] = [];
    for (const migration of list) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql.replaceAll('{schema}', quoted));
      await tx.query(`INSERT INTO ${quoted}.migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return { before, after: Math.max(before, ...applied), applied };
  });
}
