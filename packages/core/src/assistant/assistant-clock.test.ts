import { describe, expect, it } from 'vitest';
import type { StewardEvent } from '../events/stream-event.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { Assistant } from './assistant.ts';
import { collect, mailTool, manualClock } from './test-helpers.ts';

describe('Assistant: time and ids are inputs', () => {
  it('stamps events, records, approvals and the audit log with the injected clock and ids', async () => {
    const clock = manualClock();
    const start = clock.iso();
    let ids = 0;
    const { tool, sent } = mailTool();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const assistant = new Assistant({
      storage,
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', args: { to: 'bob@x.y' }, callId: 'c1' }] },
        { text: 'Sent.' },
      ]),
      tools: [tool],
      limits: { approvalTtlMs: 60_000 },
      _internal: { now: clock.now, generateId: () => `id-${++ids}` },
    });
    // The instance id is the first id; then the run's, then its session's.
    const run = assistant.run({ input: 'mail bob', userId: 'ann' });
    expect([run.id, run.sessionId]).toEqual(['id-2', 'id-3']);
    const head: StewardEvent[] = [];
    for await (const event of run) {
      head.push(event);
      if (event.type === 'approval_required') break;
    }
    expect(head.at(-1)).toMatchObject({ type: 'approval_required', expires_at: clock.iso(60_000) });
    clock.advance(1_000);
    const decided = clock.iso();
    const { approval } = await assistant.approve('c1', { userId: 'ann' });
    expect(approval).toMatchObject({ createdAt: start, expiresAt: clock.iso(59_000), decidedAt: decided });
    const events = await collect(run);
    expect(sent).toEqual(['bob@x.y']);
    expect(new Set(events.map((event) => event.timestamp))).toEqual(new Set([start, decided]));
    expect(await assistant.getRun(run.id, { userId: 'ann' })).toMatchObject({
      createdAt: start,
      updatedAt: decided,
    });
    const audit = await assistant.getAudit({ userId: 'ann', runId: run.id });
    expect(audit.map((entry) => [entry.action, entry.at])).toEqual([
      ['approval_requested', start],
      ['approval_granted', decided],
      ['execution_started', decided],
      ['execution_succeeded', decided],
    ]);
    const history = await assistant.getHistory(run.sessionId, { userId: 'ann' });
    expect(new Set(history.map((entry) => entry.createdAt))).toEqual(new Set([start, decided]));
    // The execution ledger answers a second begin with the stored record.
    const ledger = await storage.beginExecution({
      key: `${run.id}:c1`,
      runId: run.id,
      callId: 'c1',
      toolName: 'send_email',
      argsHash: approval.argsHash,
      status: 'started',
      startedAt: clock.iso(5_000),
    });
    expect(ledger).toMatchObject({ status: 'succeeded', startedAt: decided, finishedAt: decided });
  });

  it('keeps the default storage on the assistant’s clock', async () => {
    const clock = manualClock();
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'ok' }]),
      _internal: { now: clock.now },
    });
    const run = await assistant.start({ input: 'Hi', userId: 'ann' });
    await run.result;
    expect(await assistant.getRun(run.id, { userId: 'ann' })).toMatchObject({
      status: 'completed',
      createdAt: clock.iso(),
      updatedAt: clock.iso(),
    });
  });

  it('gives the in-memory storage a clock of its own, checked like any option', async () => {
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    expect((await storage.ensureSession('s1', { userId: 'ann' })).createdAt).toBe(clock.iso());
    expect(() => createInMemoryStorage({ _internal: { now: 5 as never } })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });
});
