import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Coordinator } from '../coordination/coordinator.ts';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import { isStewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import { collect, gate, types } from './test-helpers.ts';

/** A reply held until the test opens it: the run stays live, for as long as the test needs. */
function held(text = 'one two three') {
  const hold = gate();
  return { reply: { text, waitFor: hold.promise }, open: hold.open };
}

/** A reply that streams its text, then waits for a stop: a run that only a stop or a lost lock ends. */
const endless = { text: 'a b', stallAfterText: true };

afterEach(() => {
  vi.useRealTimers();
});

describe('Assistant: one active run per session', () => {
  it('refuses a second run in a busy session with session_busy, and admits it once the first ends', async () => {
    const busy = held();
    const assistant = new Assistant({
      model: createScriptedModel([busy.reply, { text: 'second' }, { text: 'third' }]),
    });
    const first = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });

    const refused = await assistant
      .start({ input: 'Again', userId: 'u1', sessionId: 's1' })
      .catch((error) => error);
    expect(isStewardError(refused, 'session_busy')).toBe(true);
    busy.open();
    // The refused run left nothing behind: the session holds the first run's messages only.
    expect((await first.result).stopReason).toBe('stop');
    const history = await assistant.getHistory('s1', { userId: 'u1' });
    expect(history.map((stored) => stored.message.role)).toEqual(['user', 'assistant']);

    const second = await assistant.start({ input: 'Again', userId: 'u1', sessionId: 's1' });
    expect((await second.result).text).toBe('second');
  });

  it('reports the refusal as error and final events to run() callers, storing nothing', async () => {
    const storage = createInMemoryStorage();
    const busy = held();
    const assistant = new Assistant({ model: createScriptedModel([busy.reply, { text: 'x' }]), storage });
    const first = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    const second = assistant.run({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    const events = await collect(second);
    expect(types(events)).toEqual(['error', 'final']);
    expect(events[0]).toMatchObject({ code: 'session_busy', seq: 1 });
    expect(await storage.getRun(second.id, { userId: 'u1' })).toBeUndefined();
    busy.open();
    await first.result;
  });

  it('lets sessions run in parallel when exclusiveSessions is off, and other sessions always', async () => {
    // Every run is held until all were admitted: each was admitted while the others were live.
    const busy = held();
    const model = createScriptedModel([busy.reply, busy.reply]);
    const parallel = new Assistant({ model, limits: { exclusiveSessions: false } });
    const runs = [
      await parallel.start({ input: 'Hi', userId: 'u1', sessionId: 's1' }),
      await parallel.start({ input: 'Hi', userId: 'u1', sessionId: 's1' }),
    ];
    const other = new Assistant({ model: createScriptedModel([busy.reply, busy.reply]) });
    runs.push(
      await other.start({ input: 'Hi', userId: 'u1', sessionId: 's1' }),
      await other.start({ input: 'Hi', userId: 'u1', sessionId: 's2' }),
    );
    busy.open();
    for (const run of runs) expect((await run.result).stopReason).toBe('stop');
  });

  it('shares the lock between instances through one coordinator', async () => {
    const storage = createInMemoryStorage();
    const coordinator = createInMemoryCoordinator();
    const busy = held();
    const a = new Assistant({ model: createScriptedModel([busy.reply]), storage, coordinator });
    const b = new Assistant({ model: createScriptedModel([{ text: 'b' }]), storage, coordinator });
    const first = await a.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    await expect(b.start({ input: 'Hi', userId: 'u1', sessionId: 's1' })).rejects.toMatchObject({
      code: 'session_busy',
    });
    busy.open();
    await first.result;
    await expect(b.start({ input: 'Hi', userId: 'u1', sessionId: 's1' })).resolves.toBeDefined();
  });

  it('aborts a run whose lock was lost (expired and taken), so two runs never write one session', async () => {
    // The heartbeat, which finds the lock lost, beats when the test advances it.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const base = createInMemoryCoordinator();
    let leaseLost = false;
    const coordinator: Coordinator = {
      ...base,
      acquireSessionLock: async (sessionId, options) => {
        const lease = await base.acquireSessionLock(sessionId, options);
        return lease && { ...lease, extend: async () => !leaseLost };
      },
    };
    const assistant = new Assistant({ model: createScriptedModel([endless]), coordinator });
    const run = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    let ended = false;
    void run.result.then(() => {
      ended = true;
    });
    for await (const event of run) if (event.type === 'token') break;
    await vi.advanceTimersByTimeAsync(assistant.limits.heartbeatMs); // A beat with the lock held.
    expect(ended).toBe(false);
    leaseLost = true;
    await vi.advanceTimersByTimeAsync(assistant.limits.heartbeatMs);
    const result = await run.result;
    expect(result.error?.code).toBe('session_busy');
    expect(result.partial).toBe(true);
  });

  it('refuses another user’s session as not found before looking at its lock', async () => {
    const busy = held();
    const assistant = new Assistant({ model: createScriptedModel([busy.reply, { text: 'x' }]) });
    const mine = await assistant.start({ input: 'Hi', userId: 'ann', sessionId: 's-owned' });
    await expect(assistant.start({ input: 'Hi', userId: 'bob', sessionId: 's-owned' })).rejects.toMatchObject(
      {
        code: 'session_not_found',
      },
    );
    busy.open();
    await mine.result;
  });
});

describe('Assistant: rate limits', () => {
  it('refuses runs beyond the limit with rate_limited and a retry delay, per user', async () => {
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'a' }, { text: 'b' }, { text: 'c' }]),
      rateLimit: { runs: 2, windowMs: 60_000 },
      limits: { exclusiveSessions: false },
    });
    await assistant.start({ input: 'Hi', userId: 'u1' });
    await assistant.start({ input: 'Hi', userId: 'u1' });
    const refused = await assistant.start({ input: 'Hi', userId: 'u1' }).catch((error) => error);
    expect(isStewardError(refused, 'rate_limited')).toBe(true);
    expect(refused.retryable).toBe(true);
    expect(refused.details.retryAfterMs).toBeGreaterThan(59_000);
    // Another user has a budget of their own.
    await expect(assistant.start({ input: 'Hi', userId: 'u2' })).resolves.toBeDefined();
  });

  it('rejects a malformed rate limit or coordinator at construction', () => {
    const model = createScriptedModel([]);
    expect(() => new Assistant({ model, rateLimit: { runs: 0, windowMs: 1 } })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/rateLimit/) }),
    );
    expect(() => new Assistant({ model, coordinator: {} as Coordinator })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/Coordinator/) }),
    );
  });
});

describe('Assistant.stop', () => {
  it('stops a live run, keeping the partial answer, and refuses other users with not_found', async () => {
    const assistant = new Assistant({ model: createScriptedModel([endless]) });
    const run = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    const seen: StewardEvent[] = [];
    for await (const event of run) {
      seen.push(event);
      if (event.type === 'token' && event.text.includes('b')) {
        await expect(assistant.stop(run.id, { userId: 'intruder' })).rejects.toMatchObject({
          code: 'not_found',
        });
        await assistant.stop(run.id, { userId: 'u1' });
      }
    }
    expect(seen.at(-1)).toMatchObject({ type: 'final', stop_reason: 'aborted', partial: true });
    await run.result;
    expect(await assistant.getRun(run.id, { userId: 'u1' })).toMatchObject({ status: 'aborted' });
    const history = await assistant.getHistory('s1', { userId: 'u1' });
    expect(history.at(-1)?.message).toMatchObject({ role: 'assistant', partial: true });
    // Stopping an ended run changes nothing.
    await assistant.stop(run.id, { userId: 'u1' });
    expect(await assistant.getRun(run.id, { userId: 'u1' })).toMatchObject({ status: 'aborted' });
  });

  it('reaches a run on another instance through the coordinator', async () => {
    const storage = createInMemoryStorage();
    const coordinator = createInMemoryCoordinator();
    const a = new Assistant({ model: createScriptedModel([endless]), storage, coordinator });
    const b = new Assistant({ model: createScriptedModel([]), storage, coordinator });
    const run = await a.start({ input: 'Hi', userId: 'u1' });
    await b.stop(run.id, { userId: 'u1' });
    expect(await run.result).toMatchObject({ stopReason: 'aborted', partial: true });
  });
});

describe('Assistant.streamRun', () => {
  it('streams a live run from any seq, each event once, and replays a finished one from storage', async () => {
    const live = held('a b c d e');
    const assistant = new Assistant({ model: createScriptedModel([live.reply]) });
    const run = await assistant.start({ input: 'Hi', userId: 'u1' });
    const reading = collectIterable(assistant.streamRun(run.id, { userId: 'u1' }));
    live.open();
    const all = await reading;
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index + 1));
    expect(all.at(-1)?.type).toBe('final');
    await run.result;
    const replay = await collectIterable(assistant.streamRun(run.id, { userId: 'u1', afterSeq: 3 }));
    expect(replay).toEqual(all.slice(3));
  });

  it('rejects another user with not_found, the same as a missing run', async () => {
    const live = held();
    const assistant = new Assistant({ model: createScriptedModel([live.reply]) });
    const run = await assistant.start({ input: 'Hi', userId: 'u1' });
    for (const runId of [run.id, 'no-such-run']) {
      await expect(collectIterable(assistant.streamRun(runId, { userId: 'intruder' }))).rejects.toMatchObject(
        {
          code: 'not_found',
        },
      );
    }
    live.open();
    await run.result;
  });

  it('follows a run of another instance by polling shared storage, from where the reader left off', async () => {
    const storage = createInMemoryStorage();
    const live = held('a b c d e f');
    const a = new Assistant({ model: createScriptedModel([live.reply]), storage });
    const b = new Assistant({ model: createScriptedModel([]), storage, limits: { streamPollMs: 10 } });
    const run = await a.start({ input: 'Hi', userId: 'u1' });
    const head: StewardEvent[] = [];
    for await (const event of b.streamRun(run.id, { userId: 'u1' })) {
      head.push(event);
      break; // A dropped connection, while the run is held.
    }
    // The reader comes back while the run is still held: what follows it can only find by polling.
    const reading = collectIterable(b.streamRun(run.id, { userId: 'u1', afterSeq: 1 }));
    live.open();
    const rest = await reading;
    const seqs = [...head, ...rest].map((event) => event.seq);
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    expect(rest.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect([...head, ...rest]).toEqual(await collect(run));
  });

  it('ends quietly when the reader aborts', async () => {
    const live = held();
    const assistant = new Assistant({ model: createScriptedModel([live.reply]) });
    const run = await assistant.start({ input: 'Hi', userId: 'u1' });
    const controller = new AbortController();
    const seen: StewardEvent[] = [];
    for await (const event of assistant.streamRun(run.id, { userId: 'u1', signal: controller.signal })) {
      seen.push(event);
      controller.abort();
    }
    expect(types(seen)).toEqual(['run_started']);
    live.open();
    // Stop is not disconnect: the run goes on to its end.
    expect((await run.result).stopReason).toBe('stop');
  });
});

async function collectIterable(source: AsyncIterable<StewardEvent>): Promise<StewardEvent[]> {
  const events: StewardEvent[] = [];
  for await (const event of source) events.push(event);
  return events;
}
