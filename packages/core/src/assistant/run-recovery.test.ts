import { describe, expect, it } from 'vitest';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';

describe('recoverInterruptedRuns', () => {
  it('ends a run whose instance died: partial answer kept, error and final appended once', async () => {
    const storage = createInMemoryStorage();
    const old = new Date(Date.now() - 60_000).toISOString();
    await storage.ensureSession('s', { userId: 'ann' });
    await storage.createRun({
      id: 'dead',
      sessionId: 's',
      userId: 'ann',
      status: 'running',
      createdAt: old,
      updatedAt: old,
    });
    await storage.appendMessages('s', [
      { runId: 'dead', message: { role: 'user', content: 'go' } },
      {
        runId: 'dead',
        message: {
          role: 'assistant',
          content: 'Looking. ',
          toolCalls: [{ callId: 'c1', name: 'f', arguments: '{}' }],
        },
      },
    ]);
    const base = { run_id: 'dead', timestamp: old };
    const events: StewardEvent[] = [
      { ...base, seq: 1, type: 'run_started', session_id: 's', user_id: 'ann' },
      { ...base, seq: 2, type: 'token', text: 'Looking. ' },
      {
        ...base,
        seq: 3,
        type: 'usage',
        step: 1,
        input_tokens: 5,
        output_tokens: 2,
        total_tokens: 7,
        total: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
      },
      { ...base, seq: 4, type: 'token', text: 'Half an ' },
      { ...base, seq: 5, type: 'token', text: 'answer' },
    ];
    await storage.appendEvents('dead', events);
    // Nobody has touched the record for a minute: its instance is gone.
    const assistant = new Assistant({ model: createScriptedModel([]), storage });
    const recovered = await assistant.recoverInterruptedRuns({ staleAfterMs: 0 });
    expect(recovered).toEqual(['dead']);
    expect(await assistant.recoverInterruptedRuns({ staleAfterMs: 0 })).toEqual([]);

    const stored = await storage.listEvents('dead', { userId: 'ann' });
    expect(stored.slice(5)).toMatchObject([
      { seq: 6, type: 'error', code: 'run_interrupted', retryable: true },
      {
        seq: 7,
        type: 'final',
        stop_reason: 'interrupted',
        partial: true,
        text: 'Looking. Half an answer',
        usage: { total_tokens: 7 },
      },
    ]);
    const history = (await storage.listMessages('s', { userId: 'ann' })).map((entry) => entry.message);
    expect(history.slice(-2)).toEqual([
      expect.objectContaining({ role: 'tool', callId: 'c1', isError: true }),
      { role: 'assistant', content: 'Half an answer', partial: true },
    ]);
    expect(await storage.getRun('dead', { userId: 'ann' })).toMatchObject({
      status: 'interrupted',
      stopReason: 'interrupted',
      partial: true,
    });
  });

  it('leaves live runs alone: their heartbeat keeps them fresh', async () => {
    const storage = createInMemoryStorage();
    const model = createScriptedModel([{ text: 'slow answer', delayMs: 60 }]);
    const assistant = new Assistant({ model, storage, limits: { heartbeatMs: 10 } });
    const run = assistant.run({ input: 'x', userId: 'ann' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const other = new Assistant({ model: createScriptedModel([]), storage });
    expect(await other.recoverInterruptedRuns({ staleAfterMs: 40 })).toEqual([]);
    expect((await run.result).stopReason).toBe('stop');
  });
});
