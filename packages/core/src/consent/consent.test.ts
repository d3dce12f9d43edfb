import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Assistant } from '../assistant/assistant.ts';
import type { Run } from '../assistant/run.ts';
import { collect, gate, mailTool, manualClock, weatherTool } from '../assistant/test-helpers.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { createScriptedModel, type ScriptedStep } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';

const sendStep = (to = 'bob@example.com', callId = 'call_send'): ScriptedStep => ({
  toolCalls: [{ name: 'send_email', arguments: { to }, callId }],
});

/** Reads a run until it asks for approval, then hands back the events so far. */
async function untilApproval(run: Run): Promise<{ events: StewardEvent[]; callId: string }> {
  const events: StewardEvent[] = [];
  const iterator = run[Symbol.asyncIterator]();
  while (true) {
    const next = await iterator.next();
    if (next.done) throw new Error('the run ended without asking for approval');
    events.push(next.value);
    if (next.value.type === 'approval_required') return { events, callId: next.value.call_id };
  }
}

function setup(
  steps: ScriptedStep[],
  options: { storage?: Storage; approvalTtlMs?: number; approvalPollMs?: number; now?: () => number } = {},
) {
  const { tool, sent } = mailTool();
  const storage = options.storage ?? createInMemoryStorage();
  const assistant = new Assistant({
    model: createScriptedModel(steps),
    tools: [tool, weatherTool().tool],
    storage,
    limits: {
      ...(options.approvalTtlMs === undefined ? {} : { approvalTtlMs: options.approvalTtlMs }),
      ...(options.approvalPollMs === undefined ? {} : { approvalPollMs: options.approvalPollMs }),
    },
    ...(options.now === undefined ? {} : { _internal: { now: options.now } }),
  });
  return { assistant, sent, storage };
}

describe('approvals', () => {
  it('runs an approved call once, with its decision in the stream and the audit log', async () => {
    const { assistant, sent } = setup([sendStep(), { text: 'Sent.' }]);
    const run = assistant.run({ input: 'mail bob', userId: 'ann' });
    const { events, callId } = await untilApproval(run);
    expect(events.at(-1)).toMatchObject({
      type: 'approval_required',
      tool_slug: 'send_email',
      args: { to: 'bob@example.com' },
    });
    expect(sent).toEqual([]);
    const { approval } = await assistant.approve(callId, { userId: 'ann' });
    expect(approval).toMatchObject({ status: 'approved', decidedBy: 'ann' });
    const rest = await collect(run);
    expect(rest.find((event) => event.type === 'approval_resolved')).toMatchObject({
      decision: 'approved',
      decided_by: 'ann',
    });
    expect(rest.find((event) => event.type === 'tool_result')).toMatchObject({ result: { sent: true } });
    expect((await run.result).text).toBe('Sent.');
    expect(sent).toEqual(['bob@example.com']);
    const audit = await assistant.getAudit({ userId: 'ann', runId: run.id });
    expect(audit.map((entry) => entry.action)).toEqual([
      'approval_requested',
      'approval_granted',
      'execution_started',
      'execution_succeeded',
    ]);
    expect(new Set(audit.map((entry) => entry.argsHash)).size).toBe(1);
    expect(await assistant.getAudit({ userId: 'mallory' })).toEqual([]);
  });

  it('lets only the run’s owner decide, once', async () => {
    const { assistant, sent } = setup([sendStep(), { text: 'Sent.' }]);
    const run = assistant.run({ input: 'mail bob', userId: 'ann' });
    const { callId } = await untilApproval(run);
    await expect(assistant.approve(callId, { userId: 'mallory' })).rejects.toMatchObject({
      code: 'approval_not_found',
    });
    await expect(assistant.deny(callId, { userId: 'mallory' })).rejects.toMatchObject({
      code: 'approval_not_found',
    });
    await assistant.approve(callId, { userId: 'ann' });
    await expect(assistant.approve(callId, { userId: 'ann' })).rejects.toMatchObject({
      code: 'approval_conflict',
    });
    await expect(assistant.deny(callId, { userId: 'ann' })).rejects.toMatchObject({
      code: 'approval_conflict',
    });
    await run.result;
    // A resubmitted decision after the run ended changes nothing and runs nothing.
    await expect(assistant.approve(callId, { userId: 'ann' })).rejects.toMatchObject({
      code: 'approval_conflict',
    });
    expect(await assistant.resume(run.id, { userId: 'ann' })).toBeUndefined();
    expect(sent).toEqual(['bob@example.com']);
  });

  it('refuses an expired approval and tells the model', async () => {
    const clock = manualClock();
    // The paused run checks the (injected) clock every 10 ms of real time.
    const { assistant, sent } = setup([sendStep(), { text: 'Too late.' }], {
      approvalTtlMs: 60_000,
      approvalPollMs: 10,
      now: clock.now,
    });
    const run = assistant.run({ input: 'mail bob', userId: 'ann' });
    const { callId } = await untilApproval(run);
    clock.advance(60_000); // The deadline has come.
    await expect(assistant.approve(callId, { userId: 'ann' })).rejects.toMatchObject({
      code: 'approval_expired',
    });
    const rest = await collect(run);
    expect(rest.find((event) => event.type === 'approval_resolved')).toMatchObject({ decision: 'expired' });
    expect(rest.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'approval_expired' },
    });
    expect(rest.at(-1)).toMatchObject({ type: 'final', text: 'Too late.' });
    expect(sent).toEqual([]);
  });

  it('runs the other calls of a step at once and pauses only the one that needs consent', async () => {
    const { assistant, sent } = setup([
      {
        toolCalls: [
          { name: 'get_weather', arguments: { city: 'Oslo' }, callId: 'w' },
          { name: 'send_email', arguments: { to: 'eve@example.com' }, callId: 's' },
        ],
      },
      { text: 'Done.' },
    ]);
    const run = assistant.run({ input: 'x', userId: 'ann' });
    // Read until the weather result is in, without deciding anything: if the other call waited
    // for the approval, this would never end (and the test times out).
    const before: StewardEvent[] = [];
    for await (const event of run) {
      before.push(event);
      if (event.type === 'tool_result' && event.call_id === 'w') break;
    }
    expect(before.some((event) => event.type === 'approval_required' && event.call_id === 's')).toBe(true);
    expect(before.some((event) => event.type === 'tool_result' && event.call_id === 's')).toBe(false);
    expect(sent).toEqual([]);
    await assistant.approve('s', { userId: 'ann' });
    const all = await collect(run);
    const order = all
      .filter((event) => event.type === 'tool_result')
      .map((event) => (event.type === 'tool_result' ? event.call_id : ''));
    expect(order).toEqual(['w', 's']);
    expect(sent).toEqual(['eve@example.com']);
  });

  it('resumes on another instance after a restart, continuing the stored seq', async () => {
    const storage = createInMemoryStorage();
    const first = setup([sendStep()], { storage, approvalPollMs: 60_000 });
    const run = first.assistant.run({ input: 'mail bob', userId: 'ann' });
    const { callId } = await untilApproval(run);
    await expect
      .poll(async () => (await storage.getRun(run.id, { userId: 'ann' }))?.status)
      .toBe('awaiting_approval');

    // "After a restart": a new Assistant over the same storage takes the decision and goes on.
    const second = setup([{ text: 'Sent after the restart.' }], { storage });
    const { run: resumed } = await second.assistant.approve(callId, { userId: 'ann' });
    expect(resumed?.id).toBe(run.id);
    const tail = await collect(resumed as Run);
    expect(tail.at(-1)).toMatchObject({ type: 'final', text: 'Sent after the restart.' });
    expect(second.sent).toEqual(['bob@example.com']);
    expect(first.sent).toEqual([]);
    const stored = await storage.listEvents(run.id, { userId: 'ann' });
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_event, index) => index + 1));
    expect(stored.filter((event) => event.type === 'final')).toHaveLength(1);

    // The first instance wakes up later: it finds the run taken and writes nothing.
    run.abort();
    expect((await run.result).stopReason).toBe('handed_off');
    expect((await storage.getRun(run.id, { userId: 'ann' }))?.status).toBe('completed');
    expect(await storage.listEvents(run.id, { userId: 'ann' })).toHaveLength(stored.length);
  });

  it('needs no approval for a tool the user always allows, until revoked', async () => {
    const { assistant, sent } = setup([
      sendStep('a@example.com', 'c1'),
      { text: 'ok' },
      sendStep('b@example.com', 'c2'),
      { text: 'asked' },
    ]);
    await assistant.allowTool({ userId: 'ann', toolName: 'send_email' });
    const first = await collect(assistant.run({ input: 'x', userId: 'ann' }));
    expect(first.find((event) => event.type === 'tool_request')).toMatchObject({
      require_confirmation: false,
    });
    expect(sent).toEqual(['a@example.com']);
    expect(await assistant.revokeTool({ userId: 'ann', toolName: 'send_email' })).toBe(true);
    const run = assistant.run({ input: 'x', userId: 'ann' });
    const { callId } = await untilApproval(run);
    await assistant.deny(callId, { userId: 'ann' });
    await run.result;
    expect(sent).toEqual(['a@example.com']);
    const actions = (await assistant.getAudit({ userId: 'ann' })).map((entry) => entry.action);
    expect(actions).toContain('permission_granted');
    expect(actions).toContain('permission_revoked');
  });

  it('limits a session permission to its session', async () => {
    const { assistant, sent } = setup([
      sendStep('a@example.com', 'c1'),
      { text: 'ok' },
      sendStep('b@example.com', 'c2'),
    ]);
    await assistant.allowTool({ userId: 'ann', toolName: 'send_email', sessionId: 'chat-1' });
    await assistant.run({ input: 'x', userId: 'ann', sessionId: 'chat-1' }).result;
    expect(sent).toEqual(['a@example.com']);
    const other = assistant.run({ input: 'x', userId: 'ann', sessionId: 'chat-2' });
    await untilApproval(other);
    other.abort();
    expect((await other.result).stopReason).toBe('aborted');
    expect(sent).toEqual(['a@example.com']);
  });

  it('never lets a stale instance take back a run another instance resumed and paused again', async () => {
    const storage = createInMemoryStorage();
    const status = async () => (await storage.getRun(run.id, { userId: 'ann' }))?.status;
    // A is stale by construction: once paused, it reads decisions only when the test wakes it.
    const wake = gate();
    const stale: Storage = {
      ...storage,
      listApprovals: async (runId, scope) => {
        await wake.promise;
        return storage.listApprovals(runId, scope);
      },
    };
    const first = setup([sendStep('a@example.com', 'c1')], { storage: stale, approvalPollMs: 10 });
    const run = first.assistant.run({ input: 'mail twice', userId: 'ann' });
    await untilApproval(run);
    await expect.poll(status).toBe('awaiting_approval');
    // B decides first and resumes, then pauses on a second send: the run is awaiting approval again.
    const second = setup([sendStep('b@example.com', 'c2'), { text: 'both sent' }], { storage });
    await storage.transitionApproval('c1', 'pending', {
      status: 'approved',
      decidedBy: 'ann',
      decidedAt: new Date().toISOString(),
    });
    const resumed = await second.assistant.resume(run.id, { userId: 'ann' });
    expect(resumed).toBeDefined();
    const { callId } = await untilApproval(resumed as Run);
    await expect.poll(status).toBe('awaiting_approval');
    // A wakes up, sees c1 decided, and must not claim the run that B paused again.
    wake.open();
    expect((await run.result).stopReason).toBe('handed_off');
    expect(first.sent).toEqual([]);
    await second.assistant.approve(callId, { userId: 'ann' });
    expect((await (resumed as Run).result).text).toBe('both sent');
    expect([...first.sent, ...second.sent]).toEqual(['a@example.com', 'b@example.com']);
    const stored = await storage.listEvents(run.id, { userId: 'ann' });
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_event, index) => index + 1));
    expect(stored.filter((event) => event.type === 'final')).toHaveLength(1);
  });

  it('runs a call approved in time even if the run reaches it after the deadline', async () => {
    const clock = manualClock();
    const lookup = gate();
    const slow = defineTool({
      name: 'slow_lookup',
      description: 'slow',
      input: z.object({}),
      execute: async () => {
        await lookup.promise;
        return 'done';
      },
    });
    const { tool, sent } = mailTool();
    const assistant = new Assistant({
      model: createScriptedModel([
        {
          toolCalls: [
            { name: 'slow_lookup', arguments: {}, callId: 'l' },
            { name: 'send_email', arguments: { to: 'x@example.com' }, callId: 's' },
          ],
        },
        { text: 'ok' },
      ]),
      tools: [slow, tool],
      limits: { approvalTtlMs: 60_000 },
      _internal: { now: clock.now },
    });
    const run = assistant.run({ input: 'x', userId: 'ann' });
    const { callId } = await untilApproval(run);
    await assistant.approve(callId, { userId: 'ann' });
    // The step's other call holds the run until long after the deadline.
    clock.advance(120_000);
    lookup.open();
    const rest = await collect(run);
    expect(rest.find((event) => event.type === 'approval_resolved')).toMatchObject({ decision: 'approved' });
    expect((await run.result).text).toBe('ok');
    expect(sent).toEqual(['x@example.com']);
  });

  it('rejects malformed decisions with a typed error', async () => {
    const { assistant } = setup([]);
    await expect(assistant.approve('c', undefined as never)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(assistant.deny('', { userId: 'ann' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(assistant.resume('r', { userId: 42 } as never)).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(assistant.approve('nope', { userId: 'ann' })).rejects.toMatchObject({
      code: 'approval_not_found',
    });
  });

  it('never runs the same call twice, even when the model repeats its id', async () => {
    const { tool, sent } = mailTool();
    const assistant = new Assistant({
      model: createScriptedModel([
        sendStep('a@example.com', 'same'),
        sendStep('a@example.com', 'same'),
        { text: 'ok' },
      ]),
      tools: [tool],
      consent: { evaluate: async () => ({ type: 'allow' }) },
    });
    const events = await collect(assistant.run({ input: 'x', userId: 'ann' }));
    expect(events.filter((event) => event.type === 'tool_result')).toHaveLength(2);
    expect(sent).toEqual(['a@example.com']);
  });
});
