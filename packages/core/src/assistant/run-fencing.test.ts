import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import type { StewardError } from '../errors/steward-error.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import { Assistant } from './assistant.ts';
import { gate, manualClock } from './test-helpers.ts';

describe('run fencing', () => {
  it('refuses a stale instance’s late writes once another took the run over: the stored run stays truthful', async () => {
    const clock = manualClock();
    const storage = createInMemoryStorage({ _internal: { now: clock.now } });
    const coordinator = createInMemoryCoordinator({ _internal: { now: clock.now } });
    const stalled = gate();
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks something up, slowly',
      input: z.object({}),
      // Instance A stalls here (its connections hang) long enough to lose its lease.
      execute: async () => {
        await stalled.promise;
        return { found: true };
      },
    });
    // Heartbeats far apart: A's lease is never extended, so the fake clock expires it.
    const limits = { heartbeatMs: 60_000 };
    const options = { storage, coordinator, limits, _internal: { now: clock.now } };
    const a = new Assistant({
      ...options,
      model: createScriptedModel([
        { text: 'Looking. ', toolCalls: [{ name: 'lookup', args: {} }] },
        { text: 'Found it, all done.' },
      ]),
      tools: [lookup],
    });
    const warnings: StewardError[] = [];
    a.on('warning', (warning) => warnings.push(warning));
    const b = new Assistant({ ...options, model: createScriptedModel([]) });

    const run = await a.start({ input: 'find it', userId: 'ann', sessionId: 's' });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of run) seen.push(event.type);
    })();
    while ((await storage.listEvents(run.id, { userId: 'ann' })).every((e) => e.type !== 'tool_request'))
      await new Promise((resolve) => setImmediate(resolve));

    // Three heartbeats and more go by with no beat from A: its lease expires, B takes the run over.
    clock.advance(limits.heartbeatMs * 4);
    expect(await coordinator.acquireSessionLock('s', { owner: 'someone-else', ttlMs: 1 })).toBeDefined();
    expect(await b.recoverInterruptedRuns()).toEqual([run.id]);
    const takenOver = await storage.listEvents(run.id, { userId: 'ann' });
    expect(takenOver.at(-1)).toMatchObject({ type: 'final', stop_reason: 'interrupted' });

    // A wakes up and goes on writing as if it still owned the run: every write is refused.
    stalled.open();
    const result = await run.result;
    await reading;
    expect(result.stopReason).toBe('handed_off');
    expect(result.error?.code).toBe('run_fenced');
    expect(
      warnings.some(
        (warning) => warning.cause !== undefined && (warning.cause as StewardError).code === 'run_fenced',
      ),
    ).toBe(true);

    // The stored run is B's truth: not one event after B's final, the status B wrote.
    expect(await storage.listEvents(run.id, { userId: 'ann' })).toEqual(takenOver);
    expect(await storage.getRun(run.id, { userId: 'ann' })).toMatchObject({
      status: 'interrupted',
      stopReason: 'interrupted',
    });
    const history = await storage.listMessages('s', { userId: 'ann' });
    expect(history.map((entry) => entry.message.content)).not.toContain('Found it, all done.');
    expect(history.filter((entry) => entry.message.role === 'tool')).toHaveLength(1); // B's repair only
    // A's own readers heard nothing false either: no final of A's.
    expect(seen).not.toContain('final');
  });
});
