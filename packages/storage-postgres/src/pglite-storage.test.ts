import { PGlite } from '@electric-sql/pglite';
import { runStorageConformance } from '@steward/testing/conformance';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresStorage } from './postgres-storage.ts';

// The same adapter on PGlite: real Postgres in process, the embedded option with no server.
const database = new PGlite();
let counter = 0;
afterAll(() => database.close());

runStorageConformance({
  name: 'pglite',
  create: () => createPostgresStorage({ pglite: database, schema: `steward_pglite_${counter++}` }),
});

describe('createPostgresStorage on PGlite', () => {
  it('keeps data for a second storage over the same database', async () => {
    const first = createPostgresStorage({ pglite: database, schema: 'steward_pglite_shared' });
    await first.ensureSession('s1', { userId: 'alice' });
    const second = createPostgresStorage({ pglite: database, schema: 'steward_pglite_shared' });
    expect(await second.getSession('s1', { userId: 'alice' })).toMatchObject({ id: 's1', userId: 'alice' });
  });

  it('needs exactly one database', () => {
    expect(() =>
      createPostgresStorage({ pglite: database, connectionString: 'postgresql://x@127.0.0.1/db' }),
    ).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/exactly one/) }),
    );
  });
});
