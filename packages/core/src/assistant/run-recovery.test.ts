import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import { gate, manualClock } from './test-helpers.ts';

describe('recoverInterruptedRuns', () => {
  it('ends a run whose instance died: partial answer kept, error and final appended once', async () => {
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const old = clock.iso(-60_000);
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
    // Nobody has touched the record for a minute (three heartbeats are 15 s): its instance is gone.
    const assistant = new Assistant({
      model: createScriptedModel([]),
      storage,
      _internal: { now: clock.now },
    });
    const recovered = await assistant.recoverInterruptedRuns();
    expect(recovered).toEqual(['dead']);
    expect(await assistant.recoverInterruptedRuns({ staleAfterMs: 0 })).toEqual([]);

    const stored = await storage.listEvents('dead', { userId: 'ann' });
    expect(stored.slice(5)).toMatchObject([
      { seq: 6, type: 'error', code: 'run_interrupted', retryable: true, timestamp: clock.iso() },
      {
        seq: 7,
        timestamp: clock.iso(),
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

  afterEach(() => {
    vi.useRealTimers();
  });

  it('leaves live runs alone: their heartbeat keeps them fresh', async () => {
    // The heartbeat is the only interval; it beats when the test says, on a clock the test moves.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const reply = gate();
    const model = createScriptedModel([{ text: 'slow answer', waitFor: reply.promise }]);
    const limits = { heartbeatMs: 1_000 };
    const assistant = new Assistant({ model, storage, limits, _internal: { now: clock.now } });
    const run = await assistant.start({ input: 'x', userId: 'ann' });
    const other = new Assistant({
      model: createScriptedModel([]),
      storage,
      limits,
      _internal: { now: clock.now },
    });
    // A minute on, far past three heartbeats since the run started: only its beats keep it fresh.
    for (let beat = 0; beat < 60; beat++) {
      clock.advance(1_000);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(await other.recoverInterruptedRuns()).toEqual([]);
    reply.open();
    expect((await run.result).stopReason).toBe('stop');
  });

  it('recovers a run once its heartbeat has stopped for three beats', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const limits = { heartbeatMs: 1_000 };
    const model = createScriptedModel([{ text: 'never', waitFor: new Promise(() => {}) }]);
    const assistant = new Assistant({ model, storage, limits, _internal: { now: clock.now } });
    const run = await assistant.start({ input: 'x', userId: 'ann' });
    const other = new Assistant({
      model: createScriptedModel([]),
      storage,
      limits,
      _internal: { now: clock.now },
    });
    clock.advance(3_000);
    expect(await other.recoverInterruptedRuns()).toEqual([]); // Exactly three beats old: not yet.
    clock.advance(1); // The instance beats no more (its interval never fires): now it is stale.
    expect(await other.recoverInterruptedRuns()).toEqual([run.id]);
    run.abort();
    await run.result;
  });
});
