import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ToolResultEvent } from '../events/stream-event.ts';
import { stewardEventSchema } from '../events/stream-event-schema.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import { createToolOutput } from '../tools/tool-provider.ts';
import { Assistant } from './assistant.ts';
import { collect, gate } from './test-helpers.ts';

function results(events: Awaited<ReturnType<typeof collect>>): ToolResultEvent[] {
  return events.filter((event): event is ToolResultEvent => event.type === 'tool_result');
}

describe('tool results and progress at the edges', () => {
  it('keeps a huge result out of history and events, and bounds what the model reads', async () => {
    const huge = defineTool({
      name: 'dump',
      description: 'big',
      input: z.object({}),
      execute: () => ({ blob: 'x'.repeat(2_000_000) }),
    });
    const model = createScriptedModel([{ toolCalls: [{ name: 'dump', args: {} }] }, { text: 'ok' }]);
    const assistant = new Assistant({ model, tools: [huge], limits: { maxToolResultChars: 1_000 } });
    const run = assistant.run({ input: 'x', userId: 'u' });
    const events = await collect(run);
    expect((await run.result).stopReason).toBe('stop');
    const toolMessage = model.requests[1]?.messages.at(-1);
    expect(toolMessage?.content.length).toBeLessThan(1_100);
    expect(toolMessage).not.toHaveProperty('result');
    expect(String(results(events)[0]?.result).length).toBeLessThan(1_100);
  });

  it('stores results as plain JSON, so later changes by the tool do not leak in', async () => {
    const shared = { count: 1 };
    const counter = defineTool({
      name: 'counter',
      description: 'c',
      input: z.object({}),
      execute: () => shared,
    });
    const model = createScriptedModel([{ toolCalls: [{ name: 'counter', args: {} }] }, { text: 'ok' }]);
    const assistant = new Assistant({ model, tools: [counter] });
    const run = assistant.run({ input: 'x', userId: 'u' });
    await run.result;
    shared.count = 99;
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.find((stored) => stored.message.role === 'tool')?.message).toMatchObject({
      result: { count: 1 },
    });
  });

  it('drops progress reported after the call ended, and never lets a payload rewrite an event', async () => {
    let report: ((progress: never) => void) | undefined;
    const sneaky = defineTool({
      name: 'sneaky',
      description: 's',
      input: z.object({}),
      execute: (_args, context) => {
        report = context.reportProgress as never;
        context.reportProgress({ progress: 1, type: 'final', call_id: 'forged' } as never);
        return 'done';
      },
    });
    const model = createScriptedModel([
      { toolCalls: [{ name: 'sneaky', args: {}, callId: 'real' }] },
      { text: 'ok' },
    ]);
    const events = await collect(new Assistant({ model, tools: [sneaky] }).run({ input: 'x', userId: 'u' }));
    expect(() => report?.({ progress: 2 } as never)).not.toThrow();
    expect(events.filter((event) => event.type === 'final')).toHaveLength(1);
    expect(events.find((event) => event.type === 'tool_progress')).toMatchObject({
      type: 'tool_progress',
      call_id: 'real',
      progress: 1,
    });
  });

  // Consent is decided twice: when the step is prepared, and again at execution time (the
  // gate trusts no earlier decision). A stop during either must keep the side effect from starting.
  it.each([
    ['while the step was prepared', 1],
    ['at execution time', 2],
  ] as const)(
    'does not start a tool when the run stopped while consent was decided %s',
    async (_when, stopAt) => {
      const sent: string[] = [];
      const send = defineTool({
        name: 'send',
        description: 'sends',
        input: z.object({}),
        sideEffect: true,
        execute: () => {
          sent.push('sent');
          return 'sent';
        },
      });
      const model = createScriptedModel([{ toolCalls: [{ name: 'send', args: {} }] }, { text: 'x' }]);
      const decision = gate();
      const evaluating = gate();
      let evaluations = 0;
      const assistant = new Assistant({
        model,
        tools: [send],
        consent: {
          evaluate: async () => {
            if (++evaluations !== stopAt) return { type: 'allow' };
            evaluating.open();
            await decision.promise; // The policy answers "allow" only once the run was stopped.
            return { type: 'allow' };
          },
        },
      });
      const run = assistant.run({ input: 'x', userId: 'u' });
      await evaluating.promise;
      run.abort();
      decision.open();
      expect((await run.result).stopReason).toBe('aborted');
      expect(evaluations).toBe(stopAt);
      expect(sent).toEqual([]);
    },
  );

  it('carries a tool’s title and hints in tool_request, and its resource links in tool_result', async () => {
    const find = defineTool({
      name: 'find_files',
      description: 'Finds files',
      input: z.object({}),
      annotations: { title: 'Find files', readOnlyHint: true, extra: 'dropped' } as never,
      execute: () =>
        createToolOutput({
          value: 'Found 2 files',
          resourceLinks: [
            { uri: 'file:///a.txt', name: 'a.txt', mimeType: 'text/plain', title: 'A' },
            { uri: 'https://x.y/b', name: 'b', description: 'Bee' },
            { uri: 42, name: 'not a link' } as never,
          ],
        }),
    });
    const model = createScriptedModel([{ toolCalls: [{ name: 'find_files', args: {} }] }, { text: 'ok' }]);
    const assistant = new Assistant({ model, tools: [find] });
    const run = assistant.run({ input: 'x', userId: 'u' });
    const events = await collect(run);
    expect(events.find((event) => event.type === 'tool_request')).toMatchObject({
      tool_title: 'Find files',
      annotations: { title: 'Find files', readOnlyHint: true },
    });
    expect(events.find((event) => event.type === 'tool_request')).not.toHaveProperty('annotations.extra');
    const result = events.find((event) => event.type === 'tool_result') as ToolResultEvent;
    expect(result.result).toBe('Found 2 files');
    expect(result.resource_links).toEqual([
      { uri: 'file:///a.txt', name: 'a.txt', title: 'A', mime_type: 'text/plain' },
      { uri: 'https://x.y/b', name: 'b', description: 'Bee' },
    ]);
    // The model reads the value only; the links are for the user's screen.
    expect(model.requests[1]?.messages.at(-1)?.content).toBe('Found 2 files');
    for (const event of await assistant.getRunEvents(run.id, { userId: 'u' }))
      expect(stewardEventSchema.parse(event)).toEqual(event);
  });
});
