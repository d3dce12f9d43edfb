import { describe, expect, it } from 'vitest';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { createMailTool } from '../testing/mail-tool.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import type { Run } from './run.ts';
import { gate, manualClock } from './test-helpers.ts';

describe('Assistant: admission and resumes across instances', () => {
  /**
   * A and B share storage, a coordinator and a clock that moves only when the test moves it
   * (locks expire by it). The run's answer after the approval, whichever instance gives it, is
   * held until the test opens `answer`. With `aWakesOnCue`, A, once paused, reads decisions only
   * after the test opens `wake`: an instance that went quiet, by construction.
   */
  function pair(options: { exclusiveSessions?: boolean; aWakesOnCue?: boolean; aHeartbeatMs?: number } = {}) {
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const coordinator = createInMemoryCoordinator({ _internal: { now: clock.now } });
    const { tool, sent } = createMailTool();
    const answer = gate();
    const wake = gate();
    const limits = {
      approvalPollMs: 10,
      heartbeatMs: 50,
      streamPollMs: 10,
      exclusiveSessions: options.exclusiveSessions ?? true,
    };
    const quiet: Storage = {
      ...storage,
      listApprovals: async (runId, scope) => {
        await wake.promise;
        return storage.listApprovals(runId, scope);
      },
    };
    const reply = { text: 'one two three', waitFor: answer.promise };
    const a = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', args: { to: 'bob@x.y' }, callId: 'c-send' }] },
        reply,
        { text: 'second run' },
      ]),
      tools: [tool],
      storage: options.aWakesOnCue === true ? quiet : storage,
      coordinator,
      limits: { ...limits, heartbeatMs: options.aHeartbeatMs ?? limits.heartbeatMs },
      _internal: { now: clock.now },
    });
    const b = new Assistant({
      model: createScriptedModel([reply]),
      tools: [tool],
      storage,
      coordinator,
      limits,
      _internal: { now: clock.now },
    });
    return { a, b, storage, sent, clock, answer, wake };
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
    // The pause is stored just after the event: a resume needs it.
    await expect
      .poll(async () => (await assistant.getRun(run.id, { userId: 'ann' }))?.status)
      .toBe('awaiting_approval');
    return { run, callId };
  }

  it('keeps the session exclusive when the paused instance goes on after an approval made elsewhere', async () => {
    const { a, b, sent, answer } = pair();
    const { run, callId } = await pausedRun(a, 's-resume');
    // B waits for the session while A holds it (A beats, and the clock stands still, so its lock
    // cannot expire), until A finds the decision and goes on itself.
    const { run: resumed } = await b.approve(callId, { userId: 'ann' });
    expect(resumed).toBeUndefined();
    await expect(a.start({ input: 'Again', userId: 'ann', sessionId: 's-resume' })).rejects.toMatchObject({
      code: 'session_busy',
    });
    answer.open();
    expect((await run.result).stopReason).toBe('stop');
    expect((await a.getRun(run.id, { userId: 'ann' }))?.status).toBe('completed');
    expect(sent).toEqual(['bob@x.y']);
  });

  it('keeps the session exclusive when another instance takes over, even after the first lets go', async () => {
    // A beats once a minute at most: it goes quiet while paused, and its lock expires.
    const { a, b, sent, clock, answer, wake } = pair({ aWakesOnCue: true, aHeartbeatMs: 60_000 });
    const { run, callId } = await pausedRun(a, 's-takeover');
    clock.advance(3 * 60_000); // Three of A's heartbeats: its lock has expired.
    const { run: resumed } = await b.approve(callId, { userId: 'ann' });
    expect(resumed?.id).toBe(run.id);
    // A wakes, finds the run taken, hands off and releases the lock it held: B's must stay.
    wake.open();
    expect((await run.result).stopReason).toBe('handed_off');
    await expect(a.start({ input: 'Again', userId: 'ann', sessionId: 's-takeover' })).rejects.toMatchObject({
      code: 'session_busy',
    });
    answer.open();
    expect((await (resumed as Run).result).stopReason).toBe('stop');
    expect((await b.getRun(run.id, { userId: 'ann' }))?.status).toBe('completed');
    expect(sent).toEqual(['bob@x.y']);
  });

  it('streams to final on the paused instance even when another instance took the run over', async () => {
    const { a, b, sent, answer, wake } = pair({ exclusiveSessions: false, aWakesOnCue: true });
    const { run, callId } = await pausedRun(a, 's-handoff');
    const reading = (async () => {
      const seen: StewardEvent[] = [];
      for await (const event of a.streamRun(run.id, { userId: 'ann' })) seen.push(event);
      return seen;
    })();
    const { run: resumed } = await b.approve(callId, { userId: 'ann' });
    expect(resumed?.id).toBe(run.id);
    wake.open(); // A finds the run taken only now.
    expect((await run.result).stopReason).toBe('handed_off');
    answer.open();
    const seen = await reading;
    expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
    expect(seen.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect(sent).toEqual(['bob@x.y']);
  });

  it('ends a paused run whose instance died on stop, so a later approval sends nothing', async () => {
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const { tool, sent } = createMailTool();
    // A lives on its own coordinator: nothing B publishes reaches it, as if it had died.
    const a = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', args: { to: 'bob@x.y' }, callId: 'orphan' }] },
      ]),
      tools: [tool],
      storage,
      limits: { heartbeatMs: 60_000, approvalPollMs: 60_000 },
      _internal: { now: clock.now },
    });
    const b = new Assistant({
      model: createScriptedModel([{ text: 'never' }]),
      tools: [tool],
      storage,
      limits: { heartbeatMs: 20 },
      _internal: { now: clock.now },
    });
    const { run } = await pausedRun(a, 's-orphan');
    clock.advance(3 * 20 + 1); // Three of B's heartbeats without a beat from A.
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
});
