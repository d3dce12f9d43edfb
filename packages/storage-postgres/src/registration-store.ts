import { checkStorable, StewardError } from '@steward/core';
import { guarded } from './pg-errors.ts';
import type { PostgresStorage } from './postgres-storage.ts';

/** A server registration as `@steward/mcp` stores it: a name and its JSON config. */
export interface StoredRegistration {
  readonly name: string;
}

/**
 * `@steward/mcp`'s `RegistrationStore` in Postgres, so registered MCP servers survive restarts:
 * `createMcpRegistry({ store: createPostgresRegistrationStore(storage) })`. It shares the
 * storage's connection and schema (migration 3).
 */
export function createPostgresRegistrationStore<Config extends StoredRegistration>(storage: PostgresStorage) {
  const db = storage.sql;
  const table = db.table('mcp_registrations');
  return {
    list: () =>
      guarded('Reading MCP registrations', async () =>
        (await db.query<{ config: Config }>(`SELECT config FROM ${table} ORDER BY name`)).rows.map(
          (row) => row.config,
        ),
      ),
    save: (config: Config) =>
      guarded('Saving the MCP registration', async () => {
        if (typeof config.name !== 'string' || config.name === '') {
          throw new StewardError('invalid_input', 'A registration needs a name');
        }
        checkStorable(config, 'registration');
        await db.query(
          `INSERT INTO ${table} (name, config) VALUES ($1, $2::jsonb)
           ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = now()`,
          [config.name, JSON.stringify(config)],
        );
      }),
    remove: (name: string) =>
      guarded(
        'Removing the MCP registration',
        async () => (await db.query(`DELETE FROM ${table} WHERE name = $1`, [name])).rowCount > 0,
      ),
  };
}
