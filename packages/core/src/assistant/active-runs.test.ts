import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Coordinator } from '../coordination/coordinator.ts';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import { isStewardError } from '../errors/steward-error.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import type { RunInput } from './assistant-options.ts';

/** Replies that wait for `open()`: runs that stay active until the test lets them end. */
function gate(replies = 400) {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const model = createScriptedModel(
    Array.from({ length: replies }, () => ({ text: 'done', waitFor: opened })),
  );
  return { model, open };
}

/** Starts `count` runs at once; resolves the admitted runs and the refusals. */
async function startMany(assistant: Assistant, count: number, input: Omit<RunInput, 'input'>) {
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, () => assistant.start({ input: 'Hi', ...input })),
  );
  return {
    runs: outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])),
    refusals: outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : [])),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Assistant: a cap on a user’s active runs', () => {
  it('admits maxActiveRuns of 200 concurrent slow runs, refuses the rest with too_many_active_runs and stores nothing for them', async () => {
    const storage = createInMemoryStorage();
    const sessions = new Set<string>();
    const counted = {
      ...storage,
      ensureSession: (...args: Parameters<typeof storage.ensureSession>) => {
        sessions.add(args[0]);
        return storage.ensureSession(...args);
      },
    };
    const { model, open } = gate();
    const assistant = new Assistant({ model, storage: counted, maxActiveRuns: 5 });
    const { runs, refusals } = await startMany(assistant, 200, { userId: 'ann' });
    expect(runs).toHaveLength(5);
    expect(refusals).toHaveLength(195);
    for (const refusal of refusals) {
      expect(isStewardError(refusal, 'too_many_active_runs')).toBe(true);
      expect(refusal).toMatchObject({ retryable: true, details: { limit: 5, retryAfterMs: 5_000 } });
    }
    expect(sessions.size).toBe(5);
    // Another user is not affected.
    const other = await startMany(assistant, 5, { userId: 'bob' });
    expect(other.runs).toHaveLength(5);
    open();
    await Promise.all([...runs, ...other.runs].map((run) => run.result));
    // Ended runs free their slots.
    expect((await startMany(assistant, 6, { userId: 'ann' })).runs).toHaveLength(5);
  });

  it('frees a slot when its run ends, however it ends', async () => {
    const { model } = gate();
    const assistant = new Assistant({ model, maxActiveRuns: 1 });
    const first = await assistant.start({ input: 'Hi', userId: 'ann' });
    await expect(assistant.start({ input: 'Hi', userId: 'ann' })).rejects.toMatchObject({
      code: 'too_many_active_runs',
    });
    first.abort();
    await first.result;
    const second = await assistant.start({ input: 'Hi', userId: 'ann' });
    second.abort();
  });

  it('applies the stricter of the assistant’s cap and the run’s admission', async () => {
    const { model, open } = gate();
    const assistant = new Assistant({ model, maxActiveRuns: 3 });
    const loose = await startMany(assistant, 4, { userId: 'ann', admission: { maxActiveRuns: 10 } });
    expect(loose.runs).toHaveLength(3);
    const strict = await startMany(assistant, 2, { userId: 'bob', admission: { maxActiveRuns: 1 } });
    expect(strict.runs).toHaveLength(1);
    // Without a cap of its own, the assistant applies the run's.
    const embedded = new Assistant({ model });
    const capped = await startMany(embedded, 3, { userId: 'carol', admission: { maxActiveRuns: 2 } });
    expect(capped.runs).toHaveLength(2);
    expect((await startMany(embedded, 3, { userId: 'carol' })).runs).toHaveLength(3);
    open();
  });

  it('applies the stricter rate limit per window, the assistant’s and the run’s', async () => {
    const { model, open } = gate();
    open();
    const assistant = new Assistant({
      model,
      rateLimit: { runs: 3, windowMs: 60_000 },
      limits: { exclusiveSessions: false },
    });
    const admission = { rateLimit: { runs: 2, windowMs: 60_000 } };
    const strict = await startMany(assistant, 3, { userId: 'ann', admission });
    expect(strict.runs).toHaveLength(2);
    expect(strict.refusals[0]).toMatchObject({
      code: 'rate_limited',
      details: { limit: 2, windowMs: 60_000 },
    });
    const other = await startMany(assistant, 4, {
      userId: 'bob',
      admission: { rateLimit: { runs: 9, windowMs: 60_000 } },
    });
    expect(other.runs).toHaveLength(3);
    await Promise.all([...strict.runs, ...other.runs].map((run) => run.result));
  });

  it('keeps a live run’s slot past its ttl through heartbeats, and frees a dead instance’s once its leases expire', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const storage = createInMemoryStorage();
    const shared = createInMemoryCoordinator();
    // An instance that died: its slots are neither extended nor released any more.
    const dying: Coordinator = {
      ...shared,
      acquireSlot: async (key, options) => {
        const lease = await shared.acquireSlot(key, options);
        return lease && { extend: async () => true, release: async () => true };
      },
    };
    const limits = { heartbeatMs: 1_000, runTimeoutMs: 600_000 };
    const live = new Assistant({
      model: gate().model,
      storage,
      coordinator: shared,
      maxActiveRuns: 1,
      limits,
    });
    const dead = new Assistant({
      model: gate().model,
      storage,
      coordinator: dying,
      maxActiveRuns: 1,
      limits,
    });
    const other = new Assistant({
      model: gate().model,
      storage,
      coordinator: shared,
      maxActiveRuns: 1,
      limits,
    });

    const liveRun = await live.start({ input: 'Hi', userId: 'ann' });
    const deadRun = await dead.start({ input: 'Hi', userId: 'bob' });
    // Ten heartbeats later: the live run still holds ann's slot; bob's dead one freed after three.
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(other.start({ input: 'Hi', userId: 'ann' })).rejects.toMatchObject({
      code: 'too_many_active_runs',
    });
    const bobAgain = await other.start({ input: 'Hi', userId: 'bob' });
    for (const run of [liveRun, deadRun, bobAgain]) run.abort();
    await Promise.all([liveRun.result, deadRun.result, bobAgain.result]);
  });

  it('refuses a cap that is not a positive whole number at construction', () => {
    const model = createScriptedModel([]);
    expect(() => new Assistant({ model, maxActiveRuns: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/maxActiveRuns/) }),
    );
    expect(() =>
      new Assistant({ model }).run({ input: 'Hi', userId: 'ann', admission: { maxActiveRuns: 1.5 } }),
    ).toThrow(
      expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(/admission/) }),
    );
  });
});
