import { describe, expect, it } from 'vitest';
import { isStewardError, StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { createMailTool } from '../testing/mail-tool.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import { collect, types } from './test-helpers.ts';

const fastRetry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2 };

/** A storage whose `appendEvents` goes through `append`, the rest as `base` has it. */
function withAppend(
  base: Storage,
  append: (runId: string, events: readonly StewardEvent[]) => Promise<void>,
): Storage {
  return withMethod(base, 'appendEvents', append);
}

function withMethod<K extends keyof Storage>(base: Storage, name: K, method: Storage[K]): Storage {
  return new Proxy(base, {
    get: (target, property, receiver) =>
      property === name ? method : Reflect.get(target, property, receiver),
  });
}

describe('the end of a run: final means the session is free', () => {
  it.each([
    ['completed', [{ text: 'one two three' }], undefined],
    ['failed', [{ error: new StewardError('model_error', 'refused') }], undefined],
    ['aborted', [{ text: 'one two', stallAfterText: true }], 'abort'],
  ] as const)('admits the session’s next run as soon as final is read (%s)', async (_label, steps, how) => {
    const assistant = new Assistant({ model: createScriptedModel([...steps, { text: 'next' }]) });
    const run = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    for await (const event of run) {
      if (how === 'abort' && event.type === 'token') run.abort();
      if (event.type !== 'final') continue;
      // At once, before anything else settles: the lock must already be free.
      const next = await assistant.start({ input: 'Again', userId: 'u1', sessionId: 's1' });
      expect((await next.result).text).toBe('next');
    }
  });

  it('frees the session before an observer hears final, and stores final before the status', async () => {
    const storage = createInMemoryStorage();
    const seen: { status?: string; finalStored: boolean }[] = [];
    const assistant: Assistant = new Assistant({
      model: createScriptedModel([{ text: 'done' }]),
      storage,
      onEvent: (event) => {
        if (event.type !== 'final') return;
        void Promise.all([
          storage.getRun(event.run_id, { userId: 'u1' }),
          storage.listEvents(event.run_id, { userId: 'u1', afterSeq: event.seq - 1 }),
        ]).then(([record, stored]) =>
          seen.push({
            ...(record === undefined ? {} : { status: record.status }),
            finalStored: stored[0]?.type === 'final',
          }),
        );
      },
    });
    const run = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    await run.result;
    await expect.poll(() => seen).toEqual([{ status: 'completed', finalStored: true }]);
  });
});

describe('the end of a run: storage faults are loud, never silent', () => {
  it('sends a batch again when its reply was lost, and stores every event once', async () => {
    const base = createInMemoryStorage();
    let lost = 0;
    const storage = withAppend(base, async (runId, events) => {
      await base.appendEvents(runId, events);
      // The write landed, the reply did not: the caller cannot tell, and sends it again.
      if (lost++ < 2) throw new Error('read ECONNRESET');
    });
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'one two three', delayMs: 1 }]),
      storage,
      _internal: { eventLogRetry: fastRetry },
    });
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    const live = await collect(run);
    expect((await run.result).stopReason).toBe('stop');
    const stored = await base.listEvents(run.id, { userId: 'u1' });
    expect(stored).toEqual(live);
    expect(lost).toBeGreaterThanOrEqual(2);
    expect((await base.getRun(run.id, { userId: 'u1' }))?.status).toBe('completed');
  });

  it('retries a write that failed before it landed', async () => {
    const base = createInMemoryStorage();
    let failures = 0;
    const storage = withAppend(base, async (runId, events) => {
      if (failures++ < 2) throw new Error('connect ECONNREFUSED');
      await base.appendEvents(runId, events);
    });
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'one two' }]),
      storage,
      _internal: { eventLogRetry: fastRetry },
    });
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    const live = await collect(run);
    expect(await base.listEvents(run.id, { userId: 'u1' })).toEqual(live);
    expect((await base.getRun(run.id, { userId: 'u1' }))?.status).toBe('completed');
  });

  it('ends a run whose events cannot be stored as failed, and readers elsewhere get a terminal error', async () => {
    const base = createInMemoryStorage();
    const storage = withAppend(base, async (runId, events) => {
      if (events.some((event) => event.seq >= 3)) throw new Error('Connection is closed.');
      await base.appendEvents(runId, events);
    });
    const warnings: StewardError[] = [];
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'one two three four five six', delayMs: 1 }]),
      storage,
      _internal: { eventLogRetry: fastRetry },
    });
    assistant.on('warning', (warning) => warnings.push(warning));
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    const live = await collect(run);
    const result = await run.result;
    expect(result.stopReason).toBe('error');
    expect(result.error).toMatchObject({ code: 'storage_error', retryable: true });
    expect(types(live).slice(-2)).toEqual(['error', 'final']);
    expect(live.at(-2)).toMatchObject({ code: 'storage_error' });
    expect(live.at(-1)).toMatchObject({ stop_reason: 'error', partial: true });
    expect(warnings.map((warning) => warning.message)).toContain(
      'Storing run events failed after retries; the run ends',
    );
    // The status tells the truth: never `completed` with events missing.
    expect((await base.getRun(run.id, { userId: 'u1' }))?.status).toBe('failed');

    // Another instance's reader gets what was stored, then an error, never a quiet end.
    const other = new Assistant({ model: createScriptedModel([]), storage: base });
    const read: StewardEvent[] = [];
    const failure = await (async () => {
      for await (const event of other.streamRun(run.id, { userId: 'u1' })) read.push(event);
    })().catch((error: unknown) => error);
    expect(isStewardError(failure, 'storage_error')).toBe(true);
    expect(read.length).toBeGreaterThan(0);
    expect(read).toEqual(live.slice(0, read.length));
  });

  it('ends quietly for a reader that already read final, or asks from past the end', async () => {
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'hello' }]) });
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    const live = await collect(run);
    const last = live.at(-1)?.seq ?? 0;
    for (const afterSeq of [last, last + 5]) {
      const other = new Assistant({ model: createScriptedModel([]), storage: assistant.storage });
      const read: StewardEvent[] = [];
      for await (const event of other.streamRun(run.id, { userId: 'u1', afterSeq })) read.push(event);
      expect(read).toEqual([]);
    }
  });

  it('hands a paused run off when it cannot claim itself back, instead of ending it with a final storage never saw', async () => {
    const base = createInMemoryStorage();
    let claimsRefused = 0;
    const storage = withMethod(base, 'transitionRun', async (runId, from, to, epoch) => {
      if (from === 'awaiting_approval' && to === 'running' && claimsRefused++ === 0)
        throw new StewardError('storage_error', 'Connection terminated unexpectedly', { retryable: true });
      return base.transitionRun(runId, from, to, epoch);
    });
    const { tool, sent } = createMailTool();
    const assistant = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', args: { to: 'bob@x.y' }, callId: 'c1' }] },
        { text: 'Sent.' },
      ]),
      tools: [tool],
      storage,
    });
    const run = assistant.run({ input: 'mail bob', userId: 'u1' });
    const seen: StewardEvent[] = [];
    for await (const event of run) {
      seen.push(event);
      if (event.type === 'approval_required') break;
    }
    await expect
      .poll(async () => (await base.getRun(run.id, { userId: 'u1' }))?.status)
      .toBe('awaiting_approval');
    await assistant.approve('c1', { userId: 'u1' });
    expect((await run.result).stopReason).toBe('handed_off');
    // No `final` of its own: the run is still the stored, paused one anyone may resume.
    expect(types(await collect(run))).not.toContain('final');
    expect(sent).toEqual([]);
    const resumed = await assistant.resume(run.id, { userId: 'u1' });
    expect((await resumed?.result)?.text).toBe('Sent.');
    expect(sent).toEqual(['bob@x.y']);
    const stored = await base.listEvents(run.id, { userId: 'u1' });
    expect(types(stored).filter((type) => type === 'final')).toHaveLength(1);
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_event, index) => index + 1));
  });
});
