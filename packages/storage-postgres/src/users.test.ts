import { PGlite } from '@electric-sql/pglite';
import type { Usage } from '@steward/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresStorage, type PostgresStorage } from './postgres-storage.ts';
import { useTestSchemas } from './test-helpers.ts';

const db = useTestSchemas();
const pglite = new PGlite();
afterAll(() => pglite.close());
let counter = 0;

const usage = (input: number, output: number): Usage => ({
  input_tokens: input,
  output_tokens: output,
  total_tokens: input + output,
});

async function run(storage: PostgresStorage, id: string, userId: string) {
  await storage.ensureSession(`${userId}-session`, { userId });
  const now = new Date().toISOString();
  await storage.createRun({
    id,
    sessionId: `${userId}-session`,
    userId,
    status: 'running',
    createdAt: now,
    updatedAt: now,
  });
}

const rowsOf = async (storage: PostgresStorage, sql: string, values: unknown[] = []) =>
  (
    await storage.sql.query(
      sql.replaceAll(/\{(\w+)\}/g, (_m, name: string) => storage.sql.table(name)),
      values,
    )
  ).rows;

describe.each([
  { name: 'postgres', create: () => db.storage() },
  { name: 'pglite', create: () => createPostgresStorage({ pglite, schema: `steward_users_${counter++}` }) },
])('users, usage and preferences: $name', ({ create }) => {
  it('records one usage row per run, kept at its latest total, and sums a user’s usage', async () => {
    const storage = create();
    await run(storage, 'r1', 'alice');
    await run(storage, 'r2', 'alice');
    await run(storage, 'r3', 'bob');
    await storage.updateRun('r1', { usage: usage(1, 2) });
    await storage.updateRun('r1', { status: 'completed', usage: usage(10, 20) });
    await storage.updateRun('r1', { text: 'no usage in this update' });
    await storage.updateRun('r2', { status: 'completed', usage: usage(5, 5) });
    await storage.updateRun('r3', { status: 'completed', usage: usage(100, 1) });
    await expect(storage.updateRun('missing', { usage: usage(1, 1) })).rejects.toMatchObject({
      code: 'not_found',
    });

    expect(
      await rowsOf(
        storage,
        'SELECT run_id, user_id, session_id, total_tokens::integer AS total FROM {usage_records} ORDER BY run_id',
      ),
    ).toEqual([
      { run_id: 'r1', user_id: 'alice', session_id: 'alice-session', total: 30 },
      { run_id: 'r2', user_id: 'alice', session_id: 'alice-session', total: 10 },
      { run_id: 'r3', user_id: 'bob', session_id: 'bob-session', total: 101 },
    ]);
    expect(await storage.usageSummary({ userId: 'alice' })).toEqual({
      userId: 'alice',
      runs: 2,
      inputTokens: 15,
      outputTokens: 25,
      totalTokens: 40,
    });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    expect(await storage.usageSummary({ userId: 'alice', since: hourAgo })).toMatchObject({
      runs: 2,
      totalTokens: 40,
    });
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    expect(await storage.usageSummary({ userId: 'alice', since: inAnHour })).toMatchObject({
      runs: 0,
      totalTokens: 0,
    });
    expect(await storage.usageSummary({ userId: 'nobody' })).toMatchObject({ runs: 0, totalTokens: 0 });
    await expect(storage.usageSummary({ userId: 'alice', since: 'yesterday' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('knows a user from their first session, once', async () => {
    const storage = create();
    await storage.ensureSession('s1', { userId: 'alice' });
    await storage.ensureSession('s2', { userId: 'alice' });
    await storage.ensureSession('s3', { userId: 'bob' });
    expect((await rowsOf(storage, 'SELECT id FROM {users} ORDER BY id')).map((row) => row.id)).toEqual([
      'alice',
      'bob',
    ]);
  });

  it('keeps preferences per user, any JSON value, replaced by key', async () => {
    const storage = create();
    await storage.setPreference('alice', 'theme', 'dark');
    await storage.setPreference('alice', 'limits', { maxRuns: 3, tools: ['search'] });
    await storage.setPreference('alice', 'theme', 'light');
    await storage.setPreference('bob', 'theme', null);
    expect(await storage.getPreferences('alice')).toEqual({
      limits: { maxRuns: 3, tools: ['search'] },
      theme: 'light',
    });
    expect(await storage.getPreferences('bob')).toEqual({ theme: null });
    expect(await storage.getPreferences('carol')).toEqual({});
    expect(await storage.deletePreference('alice', 'theme')).toBe(true);
    expect(await storage.deletePreference('alice', 'theme')).toBe(false);
    expect(await storage.getPreferences('alice')).toEqual({ limits: { maxRuns: 3, tools: ['search'] } });
    for (const [key, value] of [
      ['', 'x'],
      ['when', new Date() as never],
      ['fn', (() => 1) as never],
      ['missing', undefined as never],
    ] as const) {
      await expect(storage.setPreference('alice', key, value)).rejects.toMatchObject({
        code: 'invalid_input',
      });
    }
  });

  it('deletes a user’s usage, preferences and user row with the rest, and nothing of anyone else', async () => {
    const storage = create();
    for (const userId of ['alice', 'bob']) {
      await run(storage, `${userId}-run`, userId);
      await storage.updateRun(`${userId}-run`, { status: 'completed', usage: usage(3, 4) });
      await storage.setPreference(userId, 'theme', 'dark');
      await storage.setPreference(userId, 'language', 'fr');
    }
    expect(await storage.deleteUser('alice')).toMatchObject({
      users: 1,
      sessions: 1,
      runs: 1,
      usage_records: 1,
      user_preferences: 2,
    });
    expect(await storage.usageSummary({ userId: 'alice' })).toMatchObject({ runs: 0 });
    expect(await storage.getPreferences('alice')).toEqual({});
    expect(await storage.usageSummary({ userId: 'bob' })).toMatchObject({ runs: 1, totalTokens: 7 });
    expect(await storage.getPreferences('bob')).toEqual({ language: 'fr', theme: 'dark' });
    expect((await rowsOf(storage, 'SELECT id FROM {users}')).map((row) => row.id)).toEqual(['bob']);
  });
});
