import { describe, expect, it } from 'vitest';
import type { Coordinator } from '../coordination/coordinator.ts';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import { isStewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createMailTool } from '../testing/mail-tool.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import { collect, types } from './test-helpers.ts';

const slow = (text = 'one two three four five six') => ({ text, delayMs: 20 });

describe('Assistant: one active run per session', () => {
  it('refuses a second run in a busy session with session_busy, and admits it once the first ends', async () => {
    const assistant = new Assistant({
      model: createScriptedModel([slow(), { text: 'second' }, { text: 'third' }]),
    });
    const first = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });

    const refused = await assistant
      .start({ input: 'Again', userId: 'u1', sessionId: 's1' })
      .catch((error) => error);
    expect(isStewardError(refused, 'session_busy')).toBe(true);
    // The refused run left nothing behind: the session holds the first run's messages only.
    expect((await first.result).stopReason).toBe('stop');
    const history = await assistant.getHistory('s1', { userId: 'u1' });
    expect(history.map((stored) => stored.message.role)).toEqual(['user', 'assistant']);

    const second = await assistant.start({ input: 'Again', userId: 'u1', sessionId: 's1' });
    expect((await second.result).text).toBe('second');
  });

  it('reports the refusal as error and final events to run() callers, storing nothing', async () => {
    const storage = createInMemoryStorage();
    const assistant = new Assistant({ model: createScriptedModel([slow(), { text: 'x' }]), storage });
    const first = assistant.run({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    const second = assistant.run({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    const events = await collect(second);
    expect(types(events)).toEqual(['error', 'final']);
    expect(events[0]).toMatchObject({ code: 'session_busy', seq: 1 });
    expect(await storage.getRun(second.id, { userId: 'u1' })).toBeUndefined();
    await first.result;
  });

  it('lets sessions run in parallel when exclusiveSessions is off, and other sessions always', async () => {
    const model = createScriptedModel([slow('a b'), slow('c d'), slow('e f')]);
    const parallel = new Assistant({ model, limits: { exclusiveSessions: false } });
    const runs = await Promise.all([
      parallel.start({ input: 'Hi', userId: 'u1', sessionId: 's1' }),
      parallel.start({ input: 'Hi', userId: 'u1', sessionId: 's1' }),
    ]);
    const other = new Assistant({ model: createScriptedModel([slow(), slow()]) });
    runs.push(
      await other.start({ input: 'Hi', userId: 'u1', sessionId: 's1' }),
      await other.start({ input: 'Hi', userId: 'u1', sessionId: 's2' }),
    );
    for (const run of runs) expect((await run.result).stopReason).toBe('stop');
  });

  it('shares the lock between instances through one coordinator', async () => {
    const storage = createInMemoryStorage();
    const coordinator = createInMemoryCoordinator();
    const a = new Assistant({ model: createScriptedModel([slow()]), storage, coordinator });
    const b = new Assistant({ model: createScriptedModel([{ text: 'b' }]), storage, coordinator });
    const first = await a.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    await expect(b.start({ input: 'Hi', userId: 'u1', sessionId: 's1' })).rejects.toMatchObject({
      code: 'session_busy',
    });
    await first.result;
    await expect(b.start({ input: 'Hi', userId: 'u1', sessionId: 's1' })).resolves.toBeDefined();
  });

  it('aborts a run whose lock was lost (expired and taken), so two runs never write one session', async () => {
    const base = createInMemoryCoordinator();
    let leaseLost = false;
    const coordinator: Coordinator = {
      ...base,
      acquireSessionLock: async (sessionId, options) => {
        const lease = await base.acquireSessionLock(sessionId, options);
        return lease && { ...lease, extend: async () => !leaseLost };
      },
    };
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'a b c d e f g h i j', delayMs: 30 }]),
      coordinator,
      limits: { heartbeatMs: 50 },
    });
    const run = await assistant.start({ input: 'Hi', userId: 'u1', sessionId: 's1' });
    leaseLost = true;
    const result = await run.result;
    expect(result.error?.code).toBe('session_busy');
    expect(result.partial).toBe(true);
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
    expect(() => new Assistant({ model, rateLimit: { runs: 0, windowMs: 1 } })).toThrow(/rateLimit/);
    expect(() => new Assistant({ model, coordinator: {} as Coordinator })).toThrow(/Coordinator/);
  });
});

describe('Assistant.stop', () => {
  it('stops a live run, keeping the partial answer, and refuses other users with not_found', async () => {
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'a b c d e f g h', delayMs: 30 }]),
    });
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
    const a = new Assistant({
      model: createScriptedModel([{ text: 'a b c d e f g h', delayMs: 30 }]),
      storage,
      coordinator,
    });
    const b = new Assistant({ model: createScriptedModel([]), storage, coordinator });
    const run = await a.start({ input: 'Hi', userId: 'u1' });
    await b.stop(run.id, { userId: 'u1' });
    expect(await run.result).toMatchObject({ stopReason: 'aborted', partial: true });
  });
});

describe('Assistant.streamRun', () => {
  it('streams a live run from any seq, each event once, and replays a finished one from storage', async () => {
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'a b c d e', delayMs: 5 }]) });
    const run = await assistant.start({ input: 'Hi', userId: 'u1' });
    const all = await collectIterable(assistant.streamRun(run.id, { userId: 'u1' }));
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index + 1));
    expect(all.at(-1)?.type).toBe('final');
    await run.result;
    const replay = await collectIterable(assistant.streamRun(run.id, { userId: 'u1', afterSeq: 3 }));
    expect(replay).toEqual(all.slice(3));
  });

  it('rejects another user with not_found, the same as a missing run', async () => {
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'a b', delayMs: 5 }]) });
    const run = await assistant.start({ input: 'Hi', userId: 'u1' });
    for (const runId of [run.id, 'no-such-run']) {
      await expect(collectIterable(assistant.streamRun(runId, { userId: 'intruder' }))).rejects.toMatchObject(
        {
          code: 'not_found',
        },
      );
    }
    await run.result;
  });

  it('follows a run of another instance by polling shared storage, from where the reader left off', async () => {
    const storage = createInMemoryStorage();
    const a = new Assistant({ model: createScriptedModel([{ text: 'a b c d e f', delayMs: 15 }]), storage });
    const b = new Assistant({ model: createScriptedModel([]), storage, limits: { streamPollMs: 10 } });
    const run = await a.start({ input: 'Hi', userId: 'u1' });
    const head: StewardEvent[] = [];
    for await (const event of b.streamRun(run.id, { userId: 'u1' })) {
      head.push(event);
      if (head.length === 3) break; // A dropped connection.
    }
    const rest = await collectIterable(b.streamRun(run.id, { userId: 'u1', afterSeq: 3 }));
    const seqs = [...head, ...rest].map((event) => event.seq);
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    expect(rest.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect([...head, ...rest]).toEqual(await collect(run));
  });

  it('ends quietly when the reader aborts', async () => {
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'a b c d e f g h', delayMs: 30 }]),
    });
    const run = await assistant.start({ input: 'Hi', userId: 'u1' });
    const controller = new AbortController();
    const seen: StewardEvent[] = [];
    for await (const event of assistant.streamRun(run.id, { userId: 'u1', signal: controller.signal })) {
      seen.push(event);
      if (event.type === 'token') controller.abort();
    }
    expect(seen.at(-1)?.type).toBe('token');
    // Stop is not disconnect: the run goes on to its end.
    expect((await run.result).stopReason).toBe('stop');
  });
});

async function collectIterable(source: AsyncIterable<StewardEvent>): Promise<StewardEvent[]> {
  const events: StewardEvent[] = [];
  for await (const event of source) events.push(event);
  return events;
}

describe('Assistant: admission and resumes across instances', () => {
  /** A and B share storage and a coordinator; B's model answers after the approval. */
  function pair(options: { exclusiveSessions?: boolean; slowToNotice?: boolean } = {}) {
    const storage = createInMemoryStorage();
    const coordinator = createInMemoryCoordinator();
    const { tool, sent } = createMailTool();
    const limits = {
      approvalPollMs: 50,
      heartbeatMs: 50,
      exclusiveSessions: options.exclusiveSessions ?? true,
    };
    const a = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', args: { to: 'bob@x.y' }, callId: `c-${Math.random()}` }] },
        {
          text: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty',
          delayMs: 20,
        },
        { text: 'second run' },
      ]),
      tools: [tool],
      storage,
      coordinator,
      // A paused A that checks for decisions rarely: B, where the approval lands, goes on first.
      limits: options.slowToNotice === true ? { ...limits, approvalPollMs: 1_000 } : limits,
    });
    const b = new Assistant({
      model: createScriptedModel([
        {
          text: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty',
          delayMs: 20,
        },
      ]),
      tools: [tool],
      storage,
      coordinator,
      limits,
    });
    return { a, b, storage, sent };
  }

  async function pausedRun(assistant: Assistant, sessionId: string) {
    const run = await assistant.start({ input: 'Mail bob', userId: 'ann', sessionId });
    let callId = '';
    for await (const event of assistant.streamRun(run.id, { userId: 'ann' })) {
      if (event.type === 'approval_required') {
        callId = event.call_id;
        break;
      }
    }
    // The pause is stored just after the event: wait for it, as a resume needs it.
    while ((await assistant.getRun(run.id, { userId: 'ann' }))?.status !== 'awaiting_approval') {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { run, callId };
  }

  it('keeps the session exclusive while a paused run goes on after an approval made elsewhere', async () => {
    const { a, b, sent } = pair();
    const { run, callId } = await pausedRun(a, 's-resume');
    await b.approve(callId, { userId: 'ann' });
    // Whichever instance goes on (and after A would have let go of a hand-off), the session
    // stays busy until the run ends.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await expect(a.start({ input: 'Again', userId: 'ann', sessionId: 's-resume' })).rejects.toMatchObject({
      code: 'session_busy',
    });
    await run.result;
    await expect.poll(async () => (await a.getRun(run.id, { userId: 'ann' }))?.status).toBe('completed');
    expect(sent).toEqual(['bob@x.y']);
  });

  it('streams to final on the paused instance even when another instance took the run over', async () => {
    const { a, b, sent } = pair({ exclusiveSessions: false, slowToNotice: true });
    const { run, callId } = await pausedRun(a, 's-handoff');
    const reading = (async () => {
      const seen: StewardEvent[] = [];
      for await (const event of a.streamRun(run.id, { userId: 'ann' })) seen.push(event);
      return seen;
    })();
    const { run: resumed } = await b.approve(callId, { userId: 'ann' });
    expect(resumed?.id).toBe(run.id);
    expect((await run.result).stopReason).toBe('handed_off');
    const seen = await reading;
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
    expect(seen.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect(sent).toEqual(['bob@x.y']);
  });

  it('ends a paused run whose instance died on stop, so a later approval sends nothing', async () => {
    const storage = createInMemoryStorage();
    const { tool, sent } = createMailTool();
    // A lives on its own coordinator: nothing B publishes reaches it, as if it had died.
    const a = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', args: { to: 'bob@x.y' }, callId: 'orphan' }] },
      ]),
      tools: [tool],
      storage,
      limits: { heartbeatMs: 60_000, approvalPollMs: 60_000 },
    });
    const b = new Assistant({
      model: createScriptedModel([{ text: 'never' }]),
      tools: [tool],
      storage,
      limits: { heartbeatMs: 20 },
    });
    const { run } = await pausedRun(a, 's-orphan');
    await new Promise((resolve) => setTimeout(resolve, 100)); // Three of B's heartbeats without a beat from A.
    await b.stop(run.id, { userId: 'ann' });
    expect(await b.getRun(run.id, { userId: 'ann' })).toMatchObject({
      status: 'aborted',
      stopReason: 'aborted',
    });
    const events = await b.getRunEvents(run.id, { userId: 'ann' });
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'aborted' });
    const { run: resumed } = await b.approve('orphan', { userId: 'ann' });
    expect(resumed).toBeUndefined();
    expect(sent).toEqual([]);
    a.close();
    run.abort();
  });

  it('refuses another user’s session as not found before looking at its lock', async () => {
    const assistant = new Assistant({ model: createScriptedModel([slow(), { text: 'x' }]) });
    const mine = await assistant.start({ input: 'Hi', userId: 'ann', sessionId: 's-owned' });
    await expect(assistant.start({ input: 'Hi', userId: 'bob', sessionId: 's-owned' })).rejects.toMatchObject(
      {
        code: 'session_not_found',
      },
    );
    await mine.result;
  });
});
