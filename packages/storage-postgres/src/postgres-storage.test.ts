import { Assistant, type StewardError, type StewardEvent } from '@steward/core';
import { createMailTool, createScriptedModel } from '@steward/core/testing';
import { createMcpRegistry, type McpServerConfig } from '@steward/mcp';
import { runStorageConformance } from '@steward/testing/conformance';
import { startMockMcpServer } from '@steward/testing/mock-mcp';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from './migrations.ts';
import { createPostgresStorage, type PostgresStorage } from './postgres-storage.ts';
import { createPostgresRegistrationStore } from './registration-store.ts';

// The real PostgreSQL of the machine (see DEVELOPERS.md); each storage gets its own schema.
const connectionString = process.env.STEWARD_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const opened: { storage: PostgresStorage; schema: string }[] = [];
let counter = 0;

function freshStorage(
  schema = `steward_test_${process.pid}_${Date.now().toString(36)}_${counter++}`,
): PostgresStorage {
  const storage = createPostgresStorage({ connectionString, schema });
  opened.push({ storage, schema });
  return storage;
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  for (const { storage, schema } of opened) {
    await storage.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  }
  await admin.end();
});

runStorageConformance({ name: 'postgres', create: () => freshStorage() });

describe('createPostgresStorage', () => {
  it('migrates once, forward only, and keeps data across a restart', async () => {
    const schema = `steward_test_restart_${process.pid}_${Date.now().toString(36)}`;
    const first = freshStorage(schema);
    await first.ensureSession('s1', { userId: 'alice' });
    await Promise.all([first.migrate(), first.migrate()]);
    const second = freshStorage(schema);
    expect(await second.getSession('s1', { userId: 'alice' })).toMatchObject({ id: 's1' });
    const admin = new pg.Client({ connectionString });
    await admin.connect();
    const versions = await admin.query(
      `SELECT version FROM ${pg.escapeIdentifier(schema)}.migrations ORDER BY version`,
    );
    await admin.end();
    expect(versions.rows.map((row) => row.version)).toEqual(migrations.map((migration) => migration.version));
  });

  it('deletes everything about a user on request, and nothing of anyone else', async () => {
    const storage = freshStorage();
    for (const userId of ['alice', 'bob']) {
      await storage.ensureSession(`${userId}-s`, { userId });
      const now = new Date().toISOString();
      await storage.createRun({
        id: `${userId}-r`,
        sessionId: `${userId}-s`,
        userId,
        status: 'running',
        createdAt: now,
        updatedAt: now,
      });
      await storage.appendMessages(`${userId}-s`, [
        { runId: `${userId}-r`, message: { role: 'user', content: 'hi' } },
      ]);
      await storage.appendEvents(`${userId}-r`, [
        { type: 'token', text: 'x', run_id: `${userId}-r`, seq: 1, timestamp: now },
      ]);
      await storage.appendAudit({ at: now, action: 'permission_granted', userId, actor: userId });
      await storage.grantToolPermission({ userId, toolName: 'send_email', grantedAt: now });
    }
    const deleted = await storage.deleteUser('alice');
    expect(deleted).toMatchObject({
      sessions: 1,
      runs: 1,
      messages: 1,
      run_events: 1,
      audit_log: 1,
      tool_permissions: 1,
    });
    expect(await storage.getSession('alice-s', { userId: 'alice' })).toBeUndefined();
    expect(await storage.listAudit({ userId: 'alice' })).toEqual([]);
    expect(await storage.getSession('bob-s', { userId: 'bob' })).toMatchObject({ id: 'bob-s' });
    expect(await storage.listEvents('bob-r', { userId: 'bob' })).toHaveLength(1);
  });

  it('keeps MCP server registrations across a restart', async () => {
    const server = await startMockMcpServer();
    const schema = `steward_test_mcp_${process.pid}_${Date.now().toString(36)}`;
    // Registering a local server takes the operator's leave, as in production.
    const registrations = { allowedOrigins: [new URL(server.url).origin], allowedNetworks: ['127.0.0.1'] };
    const first = createMcpRegistry({
      store: createPostgresRegistrationStore<McpServerConfig>(freshStorage(schema)),
      registrations,
    });
    await first.register({
      name: 'mock',
      transport: 'streamable-http',
      url: server.url,
      readOnlyTools: ['echo'],
    });
    await first.close();
    const second = createMcpRegistry({
      store: createPostgresRegistrationStore<McpServerConfig>(freshStorage(schema)),
      registrations,
    });
    await second.ready();
    expect(second.status()).toMatchObject([{ name: 'mock', state: 'connected' }]);
    expect((await second.listTools()).find((tool) => tool.name === 'mock__echo')?.sideEffect).toBe(false);
    expect(await second.unregister('mock')).toBe(true);
    await second.close();
    await server.close();
  });

  it('survives the server dropping its idle connections, and goes on with new ones', async () => {
    // Its own application_name, so the test ends this pool's backends and nobody else's.
    const appName = `steward_idle_${process.pid}_${Date.now().toString(36)}`;
    const schema = `steward_test_idle_${process.pid}_${Date.now().toString(36)}`;
    const storage = createPostgresStorage({
      connectionString: `${connectionString}${connectionString.includes('?') ? '&' : '?'}application_name=${appName}`,
      schema,
    });
    opened.push({ storage, schema });
    await storage.ensureSession('idle-s', { userId: 'ann' });
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => {
      if (warning.code === 'STEWARD_PG_IDLE_ERROR') warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    try {
      // As a restart or failover would: the server ends the pool's idle backends.
      const admin = new pg.Client({ connectionString });
      await admin.connect();
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [appName],
      );
      await admin.end();
      await expect.poll(() => warnings.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(await storage.getSession('idle-s', { userId: 'ann' })).toMatchObject({ id: 'idle-s' });
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('tells onWarning, not process warnings, of a dropped idle connection when it is given', async () => {
    const appName = `steward_idle_w_${process.pid}_${Date.now().toString(36)}`;
    const schema = `steward_test_idle_w_${process.pid}_${Date.now().toString(36)}`;
    const told: StewardError[] = [];
    const storage = createPostgresStorage({
      connectionString: `${connectionString}${connectionString.includes('?') ? '&' : '?'}application_name=${appName}`,
      schema,
      onWarning: (warning) => told.push(warning),
    });
    opened.push({ storage, schema });
    await storage.ensureSession('idle-w', { userId: 'ann' });
    const emitted: string[] = [];
    const onProcessWarning = (warning: Error & { code?: string }) => {
      if (warning.code === 'STEWARD_PG_IDLE_ERROR') emitted.push(warning.message);
    };
    process.on('warning', onProcessWarning);
    try {
      const admin = new pg.Client({ connectionString });
      await admin.connect();
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [appName],
      );
      await admin.end();
      await expect.poll(() => told.length, { timeout: 5_000 }).toBeGreaterThan(0);
      expect(told[0]).toMatchObject({ code: 'storage_error', details: { reason: 'idle_client_error' } });
      expect(emitted).toEqual([]);
      expect(await storage.getSession('idle-w', { userId: 'ann' })).toMatchObject({ id: 'idle-w' });
    } finally {
      process.off('warning', onProcessWarning);
    }
  });

  it('refuses text PostgreSQL cannot store before any query sends it, in Steward’s words', async () => {
    const storage = freshStorage();
    const refused = (field: string) => ({
      code: 'storage_error',
      retryable: false,
      message: `Cannot store ${field}: it holds a NUL character or invalid Unicode`,
      details: { field, reason: 'unstorable_text' },
    });
    // Any query's text parameter, even a read's: the last line behind the checks of each write.
    await expect(storage.getSession('a\u0000b', { userId: 'alice' })).rejects.toMatchObject(
      refused('query parameter 1'),
    );
    await expect(storage.setPreference('alice', 'theme', { name: 'dark\ud800' })).rejects.toMatchObject(
      refused('preference.value.name'),
    );
    const registrations = createPostgresRegistrationStore<{ name: string; url: string }>(storage);
    await expect(registrations.save({ name: 'mail', url: 'https://x/\u0000' })).rejects.toMatchObject(
      refused('registration.url'),
    );
    expect(await registrations.list()).toEqual([]);
    expect(await storage.getPreferences('alice')).toEqual({});
  });

  it('rejects bad options with a typed error', () => {
    expect(() => createPostgresStorage({})).toThrow(expect.objectContaining({ code: 'invalid_options' }));
    expect(() =>
      createPostgresStorage({ connectionString, schema: 'Robert"); DROP TABLE students;--' }),
    ).toThrow(expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/schema/) }));
  });

  it('serves an Assistant that pauses for approval and resumes on a new instance over the same database', async () => {
    const schema = `steward_test_resume_${process.pid}_${Date.now().toString(36)}`;
    const { tool: send, sent } = createMailTool();
    const first = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', arguments: { to: 'bob@example.com' }, callId: 'pg-call' }] },
      ]),
      tools: [send],
      storage: freshStorage(schema),
      limits: { approvalPollMs: 60_000 },
    });
    const run = first.run({ input: 'mail bob', userId: 'alice' });
    for await (const event of run) if (event.type === 'approval_required') break;
    await expect
      .poll(async () => (await first.getRun(run.id, { userId: 'alice' }))?.status)
      .toBe('awaiting_approval');

    const second = new Assistant({
      model: createScriptedModel([{ text: 'Sent.' }]),
      tools: [send],
      storage: freshStorage(schema),
    });
    const { run: resumed } = await second.approve('pg-call', { userId: 'alice' });
    const events: StewardEvent[] = [];
    for await (const event of resumed ?? []) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'final', text: 'Sent.' });
    expect(sent).toEqual(['bob@example.com']);
    const stored = await second.getRunEvents(run.id, { userId: 'alice' });
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_event, index) => index + 1));
    expect((await second.getAudit({ userId: 'alice', runId: run.id })).map((entry) => entry.action)).toEqual([
      'approval_requested',
      'approval_granted',
      'execution_started',
      'execution_succeeded',
    ]);
    run.abort();
    expect((await run.result).stopReason).toBe('handed_off');
  });
});
