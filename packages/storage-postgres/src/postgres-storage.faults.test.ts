import { createHashEmbedder, type StewardEvent } from '@steward/core';
import { type FaultProxy, startFaultProxy } from '@steward/testing/fault-proxy';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPgVectorMemory } from './pgvector-memory.ts';
import { createPostgresStorage, type PostgresStorage } from './postgres-storage.ts';
import { createPostgresRegistrationStore } from './registration-store.ts';
import { connectionString, useTestSchemas } from './test-helpers.ts';

// Faults injected for real against the machine's PostgreSQL: a backend terminated by the server
// mid-transaction, and connections cut by a proxy mid-query. Either used to end the process
// through an 'error' event nobody listened to.
const db = useTestSchemas();
const escaped: unknown[] = [];
const onEscaped = (error: unknown) => escaped.push(error);
beforeAll(() => {
  process.on('uncaughtException', onEscaped);
  process.on('unhandledRejection', onEscaped);
});
afterAll(() => {
  process.off('uncaughtException', onEscaped);
  process.off('unhandledRejection', onEscaped);
});
afterEach(() => {
  expect(escaped).toEqual([]);
});

const token = (runId: string, seq: number): StewardEvent => ({
  type: 'token',
  text: `t${seq}`,
  run_id: runId,
  seq,
  timestamp: new Date(seq * 1_000).toISOString(),
});

function withParameters(url: string, parameters: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [name, value] of Object.entries(parameters)) parsed.searchParams.set(name, value);
  return parsed.toString();
}

async function openRun(storage: PostgresStorage, runId: string): Promise<void> {
  await storage.ensureSession(`${runId}-s`, { userId: 'ann' });
  const now = new Date().toISOString();
  await storage.createRun({
    id: runId,
    sessionId: `${runId}-s`,
    userId: 'ann',
    status: 'running',
    createdAt: now,
    updatedAt: now,
  });
}

/** What a failed operation must look like: Steward's words, the driver's in `cause`, retryable. */
const connectionFailure = {
  name: 'StewardError',
  code: 'storage_error',
  retryable: true,
  message: expect.stringMatching(/^[A-Z][^:]+: the connection to the database failed$/),
  cause: expect.any(Error),
};

describe('createPostgresStorage when the server ends a backend mid-transaction', () => {
  it('fails the event batch with a retryable storage_error, and the next one succeeds', async () => {
    const appName = `steward_kill_${process.pid}_${Date.now().toString(36)}`;
    const schema = db.schema('kill');
    const storage = createPostgresStorage({
      connectionString: withParameters(connectionString, { application_name: appName }),
      schema,
    });
    await openRun(storage, 'killed');
    await storage.appendEvents('killed', [token('killed', 1)]);

    await db.admin(async (admin) => {
      // Hold the run's row lock, so the batch's transaction waits inside, on its backend.
      await admin.query('BEGIN');
      await admin.query(`SELECT 1 FROM ${pg.escapeIdentifier(schema)}.runs WHERE id = 'killed' FOR UPDATE`);
      const appending = storage.appendEvents('killed', [token('killed', 2)]);
      const outcome = appending.then(
        () => undefined,
        (error: unknown) => error,
      );
      let pid: number | undefined;
      await expect
        .poll(async () => {
          const { rows } = await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
            [appName],
          );
          pid = rows[0]?.pid;
          return pid;
        })
        .toEqual(expect.any(Number));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.query('ROLLBACK');
      expect(await outcome).toMatchObject(connectionFailure);
    });

    await storage.appendEvents('killed', [token('killed', 2)]);
    expect(await storage.listEvents('killed', { userId: 'ann' })).toEqual([
      token('killed', 1),
      token('killed', 2),
    ]);
    await storage.close();
  });
});

describe('Steward’s pg clients when a proxy cuts the connection mid-query', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(Number(new URL(connectionString).port || 5432));
  });
  afterAll(() => proxy.close());

  /** Runs `operation` with its query in flight when the connection is cut; then runs it again. */
  async function cutMidQuery<T>(operation: () => Promise<T>): Promise<T> {
    proxy.pause('replies');
    const sent = proxy.forwardedBytes;
    const outcome = operation().then(
      () => undefined,
      (error: unknown) => error,
    );
    await expect.poll(() => proxy.forwardedBytes).toBeGreaterThan(sent);
    proxy.cut();
    proxy.resume();
    expect(await outcome).toMatchObject(connectionFailure);
    return operation();
  }

  const throughProxy = () => {
    const url = new URL(connectionString);
    url.port = String(proxy.port);
    return url.toString();
  };

  it('fails each operation with a retryable storage_error and serves the next on a new connection', async () => {
    const schema = db.schema('cut');
    const storage = createPostgresStorage({ connectionString: throughProxy(), schema });
    await openRun(storage, 'cut');
    await storage.appendEvents('cut', [token('cut', 1)]);

    // A transaction (every event batch, the migrator) on a checked-out client.
    await cutMidQuery(() => storage.appendEvents('cut', [token('cut', 2)]));
    await cutMidQuery(() => storage.migrate());
    // Pooled queries: the storage, the registration store.
    expect(await cutMidQuery(() => storage.getRun('cut', { userId: 'ann' }))).toMatchObject({ id: 'cut' });
    const registrations = createPostgresRegistrationStore(storage);
    expect(await cutMidQuery(() => registrations.list())).toEqual([]);
    expect(await storage.listEvents('cut', { userId: 'ann' })).toEqual([token('cut', 1), token('cut', 2)]);
    await storage.close();

    // The memory's own pool.
    const memory = createPgVectorMemory({
      connectionString: throughProxy(),
      schema,
      embedder: createHashEmbedder({ dimensions: 8 }),
      log: () => {},
    });
    await memory.mode();
    const signal = new AbortController().signal;
    const query = { userId: 'ann', sessionId: 's', text: 'tea', limit: 3 };
    expect(await cutMidQuery(() => memory.retrieve(query, { signal }))).toEqual([]);
    expect(await cutMidQuery(() => memory.forgetUser('ann'))).toBe(0);
    await memory.close();
  });
});
