import type { Message, Storage } from '@steward/core';
import { expect, it } from 'vitest';
import { user, withRun } from './conformance-helpers.ts';

const summary = (text: string): Message => ({
  role: 'system',
  content: `Summary of the earlier conversation:\n${text}`,
});

async function contents(storage: Storage, sessionId = 'session-1', limit?: number) {
  const scope = limit === undefined ? { userId: 'alice' } : { userId: 'alice', limit };
  return (await storage.listMessages(sessionId, scope)).map((entry) => entry.message.content);
}

async function seeded(create: () => Promise<Storage> | Storage, count: number) {
  const storage = await create();
  await withRun(storage);
  await storage.appendMessages(
    'session-1',
    Array.from({ length: count }, (_, index) => ({ runId: 'run-1', message: user(`m${index + 1}`) })),
  );
  const ids = (await storage.listMessages('session-1', { userId: 'alice' })).map((entry) => entry.id);
  return { storage, ids };
}

/** @internal The `compactMessages` part of the storage conformance suite. */
export function runCompactionConformance(create: () => Promise<Storage> | Storage): void {
  it('compacts the oldest messages into one summary that lists first; later appends follow it', async () => {
    const { storage, ids } = await seeded(create, 5);
    const compacted = await storage.compactMessages(
      'session-1',
      { userId: 'alice' },
      {
        throughMessageId: ids[2] as string,
        runId: 'compaction-1',
        summary: summary('m1 to m3'),
      },
    );
    expect(compacted.replaced).toBe(3);
    expect(compacted.summary).toMatchObject({
      id: ids[2],
      sessionId: 'session-1',
      runId: 'compaction-1',
      message: summary('m1 to m3'),
    });
    const stored = await storage.listMessages('session-1', { userId: 'alice' });
    expect(stored[0]).toEqual(compacted.summary);
    expect(stored.map((entry) => entry.id)).toEqual([ids[2], ids[3], ids[4]]);
    await storage.appendMessages('session-1', [{ runId: 'run-1', message: user('m6') }]);
    expect(await contents(storage)).toEqual([summary('m1 to m3').content, 'm4', 'm5', 'm6']);
    expect(await contents(storage, 'session-1', 2)).toEqual(['m5', 'm6']);

    // A summary can itself be folded into the next one.
    const again = await storage.compactMessages(
      'session-1',
      { userId: 'alice' },
      {
        throughMessageId: ids[3] as string,
        runId: 'compaction-2',
        summary: summary('m1 to m4'),
      },
    );
    expect(again.replaced).toBe(2);
    expect(await contents(storage)).toEqual([summary('m1 to m4').content, 'm5', 'm6']);
  });

  it('refuses another user’s session, unknown ids and a bad summary with typed errors, changing nothing', async () => {
    const { storage, ids } = await seeded(create, 3);
    await withRun(storage, 'run-2', 'alice', 'session-2');
    await storage.appendMessages('session-2', [{ runId: 'run-2', message: user('elsewhere') }]);
    const [elsewhere] = await storage.listMessages('session-2', { userId: 'alice' });
    const through = ids[1] as string;
    const compaction = { throughMessageId: through, runId: 'c', summary: summary('x') };

    await expect(storage.compactMessages('session-1', { userId: 'bob' }, compaction)).rejects.toMatchObject({
      code: 'session_not_found',
    });
    await expect(storage.compactMessages('missing', { userId: 'alice' }, compaction)).rejects.toMatchObject({
      code: 'session_not_found',
    });
    for (const throughMessageId of ['no-such-message', '999999999', elsewhere?.id as string]) {
      await expect(
        storage.compactMessages('session-1', { userId: 'alice' }, { ...compaction, throughMessageId }),
      ).rejects.toMatchObject({ code: 'not_found' });
    }
    for (const bad of [{ role: 'robot', content: 'x' } as unknown as Message, summary('nul \u0000 byte')]) {
      await expect(
        storage.compactMessages('session-1', { userId: 'alice' }, { ...compaction, summary: bad }),
      ).rejects.toMatchObject({ code: 'storage_error' });
    }
    expect(await contents(storage)).toEqual(['m1', 'm2', 'm3']);
    expect(await contents(storage, 'session-2')).toEqual(['elsewhere']);
  });

  it('loses no message appended while a compaction runs', async () => {
    const { storage, ids } = await seeded(create, 4);
    const appended = Array.from({ length: 8 }, (_, index) => `new${index + 1}`);
    await Promise.all([
      ...appended.map((content) =>
        storage.appendMessages('session-1', [{ runId: 'run-1', message: user(content) }]),
      ),
      storage.compactMessages(
        'session-1',
        { userId: 'alice' },
        {
          throughMessageId: ids[1] as string,
          runId: 'compaction-1',
          summary: summary('m1 and m2'),
        },
      ),
    ]);
    const after = await contents(storage);
    expect(after.slice(0, 3)).toEqual([summary('m1 and m2').content, 'm3', 'm4']);
    expect([...after.slice(3)].sort()).toEqual([...appended].sort());
  });
}
