import pg from 'pg';
import { afterAll } from 'vitest';
import { createPostgresStorage, type PostgresStorage } from './postgres-storage.ts';

/** @internal The real PostgreSQL of the machine (see DEVELOPERS.md). */
export const connectionString =
  process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

let counter = 0;

/**
 * @internal Fresh schemas on the test server, dropped (with the storages closed) after the file's
 * tests. Call at the top level of a test file.
 */
export function useTestSchemas() {
  const schemas = new Set<string>();
  const storages: PostgresStorage[] = [];
  afterAll(async () => {
    for (const storage of storages) await storage.close();
    const admin = new pg.Client({ connectionString });
    await admin.connect();
    for (const schema of schemas)
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
  });
  const schema = (label = 'test'): string => {
    const name = `steward_${label}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
    schemas.add(name);
    return name;
  };
  return {
    /** A schema name no other test uses; dropped afterwards. */
    schema,
    /** A storage over `name` (a fresh schema by default), closed afterwards. */
    storage(name = schema()): PostgresStorage {
      schemas.add(name);
      const storage = createPostgresStorage({ connectionString, schema: name });
      storages.push(storage);
      return storage;
    },
    /** Runs `work` with a connected admin client. */
    async admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
      const client = new pg.Client({ connectionString });
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end();
      }
    },
  };
}
