import { describe, expect, it, vi } from 'vitest';
import { Assistant } from '../assistant/assistant.ts';
import type { Message } from '../model/message.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { RunStatus, Storage } from '../storage/storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { compactSession, isSummaryMessage, summaryPrefix } from './compact-session.ts';
import { compactionBoundary } from './compaction-boundary.ts';

const user = (content: string): Message => ({ role: 'user', content });
const reply = (content: string): Message => ({ role: 'assistant', content });
const calls = (...callIds: string[]): Message => ({
  role: 'assistant',
  content: '',
  toolCalls: callIds.map((callId) => ({ callId, name: 'lookup', arguments: '{}' })),
});
const result = (callId: string): Message => ({ role: 'tool', callId, toolName: 'lookup', content: 'ok' });

async function sessionWith(messages: readonly Message[], status: RunStatus = 'completed'): Promise<Storage> {
  const storage = createInMemoryStorage();
  await storage.ensureSession('s1', { userId: 'alice' });
  const now = new Date().toISOString();
  await storage.createRun({
    id: 'r1',
    sessionId: 's1',
    userId: 'alice',
    status,
    createdAt: now,
    updatedAt: now,
  });
  await storage.appendMessages(
    's1',
    messages.map((message) => ({ runId: 'r1', message })),
  );
  return storage;
}

const contents = async (storage: Storage) =>
  (await storage.listMessages('s1', { userId: 'alice' })).map((entry) => entry.message.content);

describe('compactionBoundary', () => {
  it('keeps the limit when it splits nothing', () => {
    expect(compactionBoundary([user('a'), reply('b'), user('c'), reply('d')], 2)).toBe(2);
  });

  it('moves back so a tool call keeps all its results, and a kept window never starts with a result', () => {
    const messages = [
      user('a'),
      reply('b'),
      user('c'),
      calls('x', 'y'),
      result('x'),
      result('y'),
      reply('d'),
    ];
    expect(compactionBoundary(messages, 5)).toBe(3);
    expect(compactionBoundary(messages, 4)).toBe(3);
    expect(compactionBoundary(messages, 6)).toBe(6);
  });

  it('does not cut between a call and a result that another run’s messages separate', () => {
    const interleaved = [user('a'), calls('x'), user('b'), reply('for b'), result('x'), reply('for a')];
    expect(compactionBoundary(interleaved, 3)).toBe(1);
    expect(compactionBoundary(interleaved, 5)).toBe(5);
  });

  it('finds no cut when every point splits a pair', () => {
    expect(compactionBoundary([calls('x'), result('x')], 1)).toBe(0);
    expect(compactionBoundary([user('a')], 0)).toBe(0);
  });
});

describe('compactSession', () => {
  it('replaces the older messages with one summary, never cutting between a call and its result', async () => {
    const storage = await sessionWith([
      user('book a table'),
      calls('c1'),
      result('c1'),
      reply('booked'),
      user('thanks'),
      reply('you are welcome'),
    ]);
    const summarize = vi.fn(
      async (messages: readonly Message[]) => `${messages.length} messages about a table`,
    );
    // keepLast 4 would start the kept window at the tool result: the call is kept with it.
    const outcome = await compactSession(storage, {
      sessionId: 's1',
      userId: 'alice',
      keepLast: 4,
      summarize,
    });
    expect(summarize).toHaveBeenCalledTimes(1);
    expect(summarize.mock.calls[0]?.[0]).toEqual([user('book a table')]);
    expect(outcome.replaced).toBe(1);
    const stored = await storage.listMessages('s1', { userId: 'alice' });
    expect(stored.map((entry) => entry.message.role)).toEqual([
      'system',
      'assistant',
      'tool',
      'assistant',
      'user',
      'assistant',
    ]);
    expect(stored[0]?.message).toEqual({
      role: 'system',
      content: `${summaryPrefix}\n1 messages about a table`,
    });
    expect(isSummaryMessage(stored[0]?.message as Message)).toBe(true);
    expect(outcome.summary).toEqual(stored[0]);
  });

  it('folds an earlier summary into the next one, and does nothing when nothing new is old enough', async () => {
    const storage = await sessionWith([
      user('one'),
      reply('1'),
      user('two'),
      reply('2'),
      user('three'),
      reply('3'),
    ]);
    const summarize = vi.fn(async (messages: readonly Message[]) => messages.map((m) => m.content).join('|'));
    await compactSession(storage, { sessionId: 's1', userId: 'alice', keepLast: 4, summarize });
    expect(await contents(storage)).toEqual([`${summaryPrefix}\none|1`, 'two', '2', 'three', '3']);

    expect(
      await compactSession(storage, { sessionId: 's1', userId: 'alice', keepLast: 4, summarize }),
    ).toEqual({
      replaced: 0,
    });
    expect(
      await compactSession(storage, { sessionId: 's1', userId: 'alice', keepLast: 50, summarize }),
    ).toEqual({
      replaced: 0,
    });
    expect(summarize).toHaveBeenCalledTimes(1);

    const outcome = await compactSession(storage, {
      sessionId: 's1',
      userId: 'alice',
      keepLast: 2,
      summarize,
    });
    expect(outcome.replaced).toBe(3);
    expect(summarize.mock.calls[1]?.[0].map((message) => message.content)).toEqual([
      `${summaryPrefix}\none|1`,
      'two',
      '2',
    ]);
    expect(await contents(storage)).toEqual([
      `${summaryPrefix}\n${summaryPrefix}\none|1|two|2`,
      'three',
      '3',
    ]);
  });

  it('leaves a run that waits for approval whole, so it can still resume', async () => {
    const storage = await sessionWith([user('old'), reply('old answer')]);
    const now = new Date().toISOString();
    await storage.createRun({
      id: 'paused',
      sessionId: 's1',
      userId: 'alice',
      status: 'awaiting_approval',
      createdAt: now,
      updatedAt: now,
    });
    await storage.appendMessages('s1', [
      { runId: 'paused', message: user('send the mail') },
      { runId: 'paused', message: calls('mail') },
    ]);
    const summarize = vi.fn(async () => 'old things');
    const outcome = await compactSession(storage, {
      sessionId: 's1',
      userId: 'alice',
      keepLast: 0,
      summarize,
    });
    expect(outcome.replaced).toBe(2);
    expect(await contents(storage)).toEqual([`${summaryPrefix}\nold things`, 'send the mail', '']);
  });

  it('stores the summary under the run id given, or one made by the injected generator', async () => {
    const storage = await sessionWith([user('one'), reply('1'), user('two'), reply('2'), user('three')]);
    const options = { sessionId: 's1', userId: 'alice', summarize: async () => 'earlier' };
    const made = await compactSession(storage, {
      ...options,
      keepLast: 3,
      _internal: { generateId: () => 'x1' },
    });
    expect(made.summary?.runId).toBe('compaction-x1');
    const named = await compactSession(storage, { ...options, keepLast: 1, runId: 'mine' });
    expect(named.summary?.runId).toBe('mine');
  });

  it('keeps messages appended while summarize works', async () => {
    const storage = await sessionWith([user('one'), reply('1'), user('two'), reply('2')]);
    const outcome = await compactSession(storage, {
      sessionId: 's1',
      userId: 'alice',
      keepLast: 2,
      summarize: async () => {
        await storage.appendMessages('s1', [{ runId: 'r2', message: user('meanwhile') }]);
        return 'one';
      },
    });
    expect(outcome.replaced).toBe(2);
    expect(await contents(storage)).toEqual([`${summaryPrefix}\none`, 'two', '2', 'meanwhile']);
  });

  it('refuses another user’s or an unknown session with a typed error, before summarizing', async () => {
    const storage = await sessionWith([user('secret'), reply('kept secret'), user('x')]);
    const summarize = vi.fn(async () => 'leak');
    await expect(
      compactSession(storage, { sessionId: 's1', userId: 'mallory', keepLast: 0, summarize }),
    ).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(
      compactSession(storage, { sessionId: 'missing', userId: 'alice', keepLast: 0, summarize }),
    ).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(
      compactSession(storage, { sessionId: 's1', userId: 'alice', keepLast: -1, summarize }),
    ).rejects.toMatchObject({ code: 'invalid_options' });
    expect(summarize).not.toHaveBeenCalled();
    expect(await contents(storage)).toEqual(['secret', 'kept secret', 'x']);
  });

  it('changes nothing when summarize fails, returns no text or the signal aborts', async () => {
    const storage = await sessionWith([user('one'), reply('1'), user('two')]);
    const options = { sessionId: 's1', userId: 'alice', keepLast: 1 };
    await expect(compactSession(storage, { ...options, summarize: async () => '  ' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(
      compactSession(storage, {
        ...options,
        summarize: async () => {
          throw new Error('model down');
        },
      }),
    ).rejects.toThrow('model down');
    const controller = new AbortController();
    await expect(
      compactSession(storage, {
        ...options,
        signal: controller.signal,
        summarize: async (_messages, { signal }) => {
          controller.abort(new Error('stop'));
          expect(signal?.aborted).toBe(true);
          return 'too late';
        },
      }),
    ).rejects.toThrow('stop');
    expect(await contents(storage)).toEqual(['one', '1', 'two']);
  });

  it('gives the summary to the model in the next run of the session', async () => {
    const storage = createInMemoryStorage();
    const model = createScriptedModel([
      { text: 'Hi Ada.' },
      { text: 'Noted: tea.' },
      { text: 'You are Ada.' },
    ]);
    const assistant = new Assistant({ model, storage, system: 'Be brief.' });
    const { sessionId } = await assistant.run({ input: 'I am Ada', userId: 'u1' }).result;
    await assistant.run({ input: 'I like tea', userId: 'u1', sessionId }).result;
    await compactSession(storage, {
      sessionId,
      userId: 'u1',
      keepLast: 2,
      summarize: async () => 'The user is called Ada.',
    });
    await assistant.run({ input: 'Who am I?', userId: 'u1', sessionId }).result;
    expect(model.requests[2]?.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: `${summaryPrefix}\nThe user is called Ada.` },
      { role: 'user', content: 'I like tea' },
      { role: 'assistant', content: 'Noted: tea.' },
      { role: 'user', content: 'Who am I?' },
    ]);
  });
});
