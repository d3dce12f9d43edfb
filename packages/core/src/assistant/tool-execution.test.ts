import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAllowAllConsentPolicy } from '../consent/consent-policy.ts';
import type { StewardEvent, ToolResultEvent } from '../events/stream-event.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { ToolProvider } from '../tools/tool-provider.ts';
import { Assistant } from './assistant.ts';
import { collect, gate, mailTool, types, weatherTool } from './test-helpers.ts';

function results(events: Awaited<ReturnType<typeof collect>>): ToolResultEvent[] {
  return events.filter((event): event is ToolResultEvent => event.type === 'tool_result');
}

describe('the tool loop', () => {
  it('calls a tool with validated arguments and gives the model its result', async () => {
    const { tool, calls } = weatherTool();
    const model = createScriptedModel([
      { toolCalls: [{ name: 'get_weather', args: { city: 'Paris' }, callId: 'c1' }] },
      { text: 'Sunny, 21 degrees.' },
    ]);
    const assistant = new Assistant({ model, tools: [tool] });
    const run = assistant.run({ input: 'Weather in Paris?', userId: 'u' });
    const events = await collect(run);

    expect(types(events)).toEqual([
      'run_started',
      'usage',
      'tool_request',
      'tool_result',
      'token',
      'token',
      'token',
      'usage',
      'final',
    ]);
    expect(events[2]).toMatchObject({
      call_id: 'c1',
      tool_slug: 'get_weather',
      args: { city: 'Paris' },
      require_confirmation: false,
    });
    expect(events[3]).toMatchObject({
      call_id: 'c1',
      tool_slug: 'get_weather',
      result: { city: 'Paris', celsius: 21 },
    });
    expect(calls).toEqual([{ city: 'Paris' }]);
    expect(model.requests[1]?.messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ callId: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      },
      {
        role: 'tool',
        callId: 'c1',
        toolName: 'get_weather',
        content: '{"city":"Paris","celsius":21}',
        result: { city: 'Paris', celsius: 21 },
      },
    ]);
    const result = await run.result;
    expect(result.usage.total_tokens).toBe(30);
    expect(result.messages.map((message) => message.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
    ]);
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.map((stored) => stored.message)).toEqual(result.messages);
  });

  it('runs parallel calls concurrently and answers in call order', async () => {
    let started = 0;
    let release: () => void = () => {};
    const bothStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineTool({
      name: 'wait_for_peer',
      description: 'Finishes only once the other call has started',
      input: z.object({ id: z.string() }),
      execute: async ({ id }) => {
        started++;
        if (started === 2) release();
        await bothStarted;
        return id;
      },
    });
    const model = createScriptedModel([
      {
        toolCalls: [
          { name: 'wait_for_peer', args: { id: 'a' } },
          { name: 'wait_for_peer', args: { id: 'b' } },
        ],
      },
      { text: 'done' },
    ]);
    const assistant = new Assistant({ model, tools: [slow], limits: { toolTimeoutMs: 2_000 } });
    const events = await collect(assistant.run({ input: 'go', userId: 'u' }));
    expect(types(events).slice(1, 6)).toEqual([
      'usage',
      'tool_request',
      'tool_request',
      'tool_result',
      'tool_result',
    ]);
    expect(
      results(events)
        .map((event) => event.result)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(model.requests[1]?.messages.slice(-2).map((message) => message.content)).toEqual(['a', 'b']);
  });

  it('sends invalid arguments back to the model as a tool error, without running the tool', async () => {
    const { tool, calls } = weatherTool();
    const model = createScriptedModel([
      {
        toolCalls: [
          { name: 'get_weather', args: { city: 42 }, callId: 'schema' },
          { name: 'get_weather', args: '{"city": "Par', callId: 'json' },
        ],
      },
      { text: 'Sorry.' },
    ]);
    const run = new Assistant({ model, tools: [tool] }).run({ input: 'x', userId: 'u' });
    const events = await collect(run);
    const schemaError = results(events).find((event) => event.call_id === 'schema');
    const jsonError = results(events).find((event) => event.call_id === 'json');
    expect(schemaError?.error).toMatchObject({
      code: 'tool_invalid_arguments',
      details: { issues: [expect.objectContaining({ path: ['city'] })] },
    });
    expect(jsonError?.error).toMatchObject({
      code: 'tool_invalid_arguments',
      message: 'Arguments for get_weather are not valid JSON',
    });
    expect(calls).toEqual([]);
    const toolMessages = model.requests[1]?.messages.filter((message) => message.role === 'tool');
    expect(toolMessages?.map((message) => JSON.parse(message.content).error.code)).toEqual([
      'tool_invalid_arguments',
      'tool_invalid_arguments',
    ]);
    expect((await run.result).stopReason).toBe('stop');
  });

  it('reports an unknown tool, a throwing tool and a bad output as tool errors', async () => {
    const broken = defineTool({
      name: 'broken',
      description: 'throws',
      input: z.object({}),
      execute: () => {
        throw new Error('disk full');
      },
    });
    const liar = defineTool({
      name: 'liar',
      description: 'returns the wrong shape',
      input: z.object({}),
      output: z.object({ ok: z.boolean() }),
      execute: () => ({ ok: 'yes' }) as never,
    });
    const model = createScriptedModel([
      {
        toolCalls: [
          { name: 'nope', args: {} },
          { name: 'broken', args: {} },
          { name: 'liar', args: {} },
        ],
      },
      { text: 'ok' },
    ]);
    const events = await collect(
      new Assistant({ model, tools: [broken, liar] }).run({ input: 'x', userId: 'u' }),
    );
    expect(results(events).map((event) => [event.tool_slug, event.error?.code])).toEqual([
      ['nope', 'tool_not_found'],
      ['broken', 'tool_execution_failed'],
      ['liar', 'tool_invalid_output'],
    ]);
    expect(results(events)[1]?.error?.message).toBe('broken failed: disk full');
  });

  it('times out a tool that ignores its signal', async () => {
    const hang = defineTool({
      name: 'hang',
      description: 'never ends',
      input: z.object({}),
      execute: () => new Promise(() => {}),
    });
    const model = createScriptedModel([{ toolCalls: [{ name: 'hang', args: {} }] }, { text: 'gave up' }]);
    const events = await collect(
      new Assistant({ model, tools: [hang], limits: { toolTimeoutMs: 30 } }).run({ input: 'x', userId: 'u' }),
    );
    expect(results(events)[0]?.error).toMatchObject({ code: 'tool_timeout', message: 'Tool hang timed out' });
    expect(events.at(-1)).toMatchObject({ text: 'gave up', stop_reason: 'stop' });
  });

  it('aborts running tools when the run is aborted, and answers every call in history', async () => {
    let toolSignal: AbortSignal | undefined;
    const started = gate();
    const waiting = defineTool({
      name: 'wait',
      description: 'waits for its signal',
      input: z.object({}),
      execute: (_args, context) =>
        new Promise((_resolve, reject) => {
          toolSignal = context.signal;
          started.open();
          context.signal.addEventListener('abort', () => reject(context.signal.reason));
        }),
    });
    const model = createScriptedModel([
      { toolCalls: [{ name: 'wait', args: {}, callId: 'w1' }] },
      { text: 'never' },
    ]);
    const assistant = new Assistant({ model, tools: [waiting] });
    const run = assistant.run({ input: 'x', userId: 'u' });
    await started.promise;
    run.abort();
    const result = await run.result;
    expect(toolSignal?.aborted).toBe(true);
    expect(result.stopReason).toBe('aborted');
    expect(model.requests).toHaveLength(1);
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.at(-1)?.message).toMatchObject({ role: 'tool', callId: 'w1', isError: true });
    expect(JSON.parse((history.at(-1)?.message.content as string) ?? '').error.code).toBe('run_aborted');
  });

  it('stops at maxSteps without running the last calls', async () => {
    const { tool, calls } = weatherTool();
    const loop = { toolCalls: [{ name: 'get_weather', args: { city: 'Rome' } }] };
    const model = createScriptedModel([loop, loop, loop, loop]);
    const run = new Assistant({ model, tools: [tool], limits: { maxSteps: 3 } }).run({
      input: 'x',
      userId: 'u',
    });
    const events = await collect(run);
    expect(model.requests).toHaveLength(3);
    expect(calls).toHaveLength(2);
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'max_steps_exceeded' });
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'max_steps', partial: false });
  });

  it('turns reportProgress into tool_progress events', async () => {
    const progressing = defineTool({
      name: 'long_job',
      description: 'reports progress',
      input: z.object({}),
      execute: (_args, context) => {
        context.reportProgress({ progress: 1, total: 2, message: 'half' });
        context.reportProgress({ progress: 2, total: 2 });
        return 'done';
      },
    });
    const model = createScriptedModel([
      { toolCalls: [{ name: 'long_job', args: {}, callId: 'j' }] },
      { text: 'ok' },
    ]);
    const events = await collect(
      new Assistant({ model, tools: [progressing] }).run({ input: 'x', userId: 'u' }),
    );
    expect(events.filter((event) => event.type === 'tool_progress')).toMatchObject([
      { call_id: 'j', tool_slug: 'long_job', progress: 1, total: 2, message: 'half' },
      { call_id: 'j', progress: 2, total: 2 },
    ]);
  });

  it('leaves out a provider that cannot list, and warns', async () => {
    const down: ToolProvider = {
      name: 'down',
      listTools: () => Promise.reject(new Error('ECONNREFUSED')),
      callTool: () => Promise.reject(new Error('unreachable')),
    };
    const model = createScriptedModel([{ text: 'fine' }]);
    const assistant = new Assistant({ model, tools: [weatherTool().tool, down] });
    const warnings: string[] = [];
    assistant.on('warning', (warning) => warnings.push(warning.message));
    const result = await assistant.run({ input: 'x', userId: 'u' }).result;
    expect(result.stopReason).toBe('stop');
    expect(model.requests[0]?.tools.map((tool) => tool.name)).toEqual(['get_weather']);
    expect(warnings).toEqual(['Tool provider "down" could not list its tools; its tools are not offered']);
  });
});

describe('consent', () => {
  it('by default pauses for the user and never runs an unapproved side effect', async () => {
    const { tool, sent } = mailTool();
    const model = createScriptedModel([
      { toolCalls: [{ name: 'send_email', args: { to: 'bob@example.com' } }] },
      { text: 'Not sent.' },
    ]);
    const assistant = new Assistant({ model, tools: [tool] });
    const run = assistant.run({ input: 'mail bob', userId: 'u' });
    const events: StewardEvent[] = [];
    for await (const event of run) {
      events.push(event);
      if (event.type === 'approval_required') {
        await expect
          .poll(async () => (await assistant.getRun(run.id, { userId: 'u' }))?.status)
          .toBe('awaiting_approval');
        await assistant.deny(event.call_id, { userId: 'u', reason: 'not today' });
      }
    }
    expect(events.find((event) => event.type === 'tool_request')).toMatchObject({
      require_confirmation: true,
    });
    expect(results(events)[0]?.error).toMatchObject({
      code: 'tool_denied',
      message: 'The user denied send_email: not today',
    });
    expect(events.at(-1)).toMatchObject({ type: 'final', text: 'Not sent.' });
    expect(sent).toEqual([]);
  });

  it('runs side effects when the host allows them', async () => {
    const { tool, sent } = mailTool();
    const model = createScriptedModel([
      { toolCalls: [{ name: 'send_email', args: { to: 'bob@example.com' } }] },
      { text: 'Sent.' },
    ]);
    const assistant = new Assistant({ model, tools: [tool], consent: createAllowAllConsentPolicy() });
    await assistant.run({ input: 'mail bob', userId: 'u' }).result;
    expect(sent).toEqual(['bob@example.com']);
  });

  it('passes the exact call to the policy and honours a deny', async () => {
    const { tool, calls } = weatherTool();
    const seen: unknown[] = [];
    const model = createScriptedModel([
      { toolCalls: [{ name: 'get_weather', args: { city: 'Oslo' }, callId: 'k' }] },
      { text: 'no' },
    ]);
    const assistant = new Assistant({
      model,
      tools: [tool],
      consent: {
        evaluate: async (request) => {
          seen.push({
            tool: request.tool.name,
            args: request.args,
            callId: request.callId,
            userId: request.userId,
          });
          return { type: 'deny', reason: 'Weather is off limits' };
        },
      },
    });
    const events = await collect(assistant.run({ input: 'x', userId: 'u9' }));
    expect(seen).toEqual([{ tool: 'get_weather', args: { city: 'Oslo' }, callId: 'k', userId: 'u9' }]);
    expect(results(events)[0]?.error).toMatchObject({
      code: 'tool_denied',
      message: 'Weather is off limits',
    });
    expect(calls).toEqual([]);
  });
});
