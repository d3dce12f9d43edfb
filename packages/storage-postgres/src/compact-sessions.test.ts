import { type Message, summaryPrefix } from '@steward/core';
import { describe, expect, it } from 'vitest';
import type { PostgresStorage } from './postgres-storage.ts';
import { useTestSchemas } from './test-helpers.ts';

const db = useTestSchemas();

async function session(storage: PostgresStorage, sessionId: string, userId: string, count: number) {
  await storage.ensureSession(sessionId, { userId });
  const now = new Date().toISOString();
  await storage.createRun({
    id: `${sessionId}-run`,
    sessionId,
    userId,
    status: 'completed',
    createdAt: now,
    updatedAt: now,
  });
  await storage.appendMessages(
    sessionId,
    Array.from({ length: count }, (_, index) => ({
      runId: `${sessionId}-run`,
      message: {
        role: index % 2 === 0 ? 'user' : 'assistant',
        content: `${sessionId} ${index + 1}`,
      } as Message,
    })),
  );
}

const contents = async (storage: PostgresStorage, sessionId: string, userId: string) =>
  (await storage.listMessages(sessionId, { userId })).map((entry) => entry.message.content);

describe('PostgresStorage.compactSessions', () => {
  it('compacts the long and idle sessions of every user, each with its own messages only', async () => {
    const storage = db.storage();
    await session(storage, 'old', 'alice', 8);
    await session(storage, 'busy', 'bob', 8);
    await session(storage, 'short', 'alice', 3);
    await storage.sql.query(
      `UPDATE ${storage.sql.table('messages')} SET created_at = now() - interval '3 days' WHERE session_id = 'old'`,
    );
    const seen: string[][] = [];
    const summarize = async (messages: readonly Message[]) => {
      seen.push(messages.map((message) => message.content));
      return `${messages.length} messages`;
    };

    const idle = await storage.compactSessions({
      keepLast: 2,
      summarize,
      idleSince: new Date(Date.now() - 86_400_000).toISOString(),
    });
    expect(idle).toEqual([{ sessionId: 'old', userId: 'alice', replaced: 6 }]);
    expect(seen).toEqual([['old 1', 'old 2', 'old 3', 'old 4', 'old 5', 'old 6']]);
    expect(await contents(storage, 'old', 'alice')).toEqual([
      `${summaryPrefix}\n6 messages`,
      'old 7',
      'old 8',
    ]);
    expect(await contents(storage, 'busy', 'bob')).toHaveLength(8);

    // The compacted session no longer has enough messages (its summary does not count).
    const all = await storage.compactSessions({ keepLast: 2, summarize });
    expect(all).toEqual([{ sessionId: 'busy', userId: 'bob', replaced: 6 }]);
    expect(await contents(storage, 'short', 'alice')).toEqual(['short 1', 'short 2', 'short 3']);
  });

  it('reports a session that fails and goes on with the others', async () => {
    const storage = db.storage();
    await session(storage, 'first', 'alice', 5);
    await session(storage, 'second', 'bob', 5);
    const outcomes = await storage.compactSessions({
      keepLast: 1,
      minMessages: 5,
      summarize: async (messages) => {
        if (messages[0]?.content.startsWith('first')) throw new Error('model down');
        return 'fine';
      },
    });
    expect(outcomes).toEqual([
      {
        sessionId: 'first',
        userId: 'alice',
        replaced: 0,
        error: expect.objectContaining({ code: 'internal_error' }),
      },
      { sessionId: 'second', userId: 'bob', replaced: 4 },
    ]);
    expect(await contents(storage, 'first', 'alice')).toHaveLength(5);
    await expect(storage.compactSessions({ keepLast: -1, summarize: async () => 'x' })).rejects.toMatchObject(
      {
        code: 'invalid_options',
      },
    );
  });
});
