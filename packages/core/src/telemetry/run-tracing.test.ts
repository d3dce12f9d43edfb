import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Assistant } from '../assistant/assistant.ts';
import { collect, gate, weatherTool } from '../assistant/test-helpers.ts';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import type { Storage } from '../storage/storage.ts';
import { createMailTool } from '../testing/mail-tool.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import { parseTraceparent, toTraceparent } from './run-tracing.ts';

const exporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  // Spans nest through the active context, which only a context manager carries across awaits.
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});
beforeEach(() => exporter.reset());

const spanNamed = (name: string): ReadableSpan => {
  const span = exporter.getFinishedSpans().find((candidate) => candidate.name === name);
  if (span === undefined)
    throw new Error(`no span ${name} in ${exporter.getFinishedSpans().map((s) => s.name)}`);
  return span;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('run tracing', () => {
  it('makes one trace: the run, its model calls and its tool call, with GenAI attributes', async () => {
    const { tool } = weatherTool();
    const assistant = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'get_weather', args: { city: 'Paris' }, callId: 'c1' }] },
        { text: 'Sunny.', usage: { input_tokens: 30, output_tokens: 4, total_tokens: 34 } },
      ]),
      tools: [tool],
      telemetry: { tracerProvider },
    });
    const run = assistant.run({ input: 'Weather in Paris?', userId: 'u1', sessionId: 's1' });
    await collect(run);
    await run.result;

    const root = spanNamed('invoke_agent steward');
    const chats = exporter.getFinishedSpans().filter((span) => span.name === 'chat scripted');
    const toolSpan = spanNamed('execute_tool get_weather');
    expect(chats).toHaveLength(2);
    const traceId = root.spanContext().traceId;
    for (const span of [...chats, toolSpan]) {
      expect(span.spanContext().traceId).toBe(traceId);
      expect(parentOf(span)).toBe(root.spanContext().spanId);
    }
    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.conversation.id': 's1',
      'steward.run.id': run.id,
      'gen_ai.usage.input_tokens': 40,
      'gen_ai.usage.output_tokens': 9,
      'steward.run.stop_reason': 'stop',
    });
    expect(chats[0]?.kind).toBe(SpanKind.CLIENT);
    expect(chats[1]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'scripted',
      'gen_ai.request.model': 'scripted',
      'gen_ai.usage.input_tokens': 30,
      'gen_ai.usage.output_tokens': 4,
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(toolSpan.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'get_weather',
      'gen_ai.tool.call.id': 'c1',
    });
    // Content stays off the spans unless the operator opts in.
    for (const span of exporter.getFinishedSpans()) {
      expect(Object.keys(span.attributes).filter((key) => /messages|arguments|result/.test(key))).toEqual([]);
    }
  });

  it('records prompts, completions, arguments and results only when recordContent is on', async () => {
    const { tool } = weatherTool();
    const assistant = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'get_weather', args: { city: 'Oslo' }, callId: 'c1' }] },
        { text: 'Cold.' },
      ]),
      tools: [tool],
      telemetry: { tracerProvider, recordContent: true },
    });
    await assistant.run({ input: 'Weather in Oslo?', userId: 'u1' }).result;
    const chats = exporter.getFinishedSpans().filter((span) => span.name === 'chat scripted');
    expect(String(chats[0]?.attributes['gen_ai.input.messages'])).toContain('Weather in Oslo?');
    expect(String(chats[1]?.attributes['gen_ai.output.messages'])).toContain('Cold.');
    const toolSpan = spanNamed('execute_tool get_weather');
    expect(toolSpan.attributes['gen_ai.tool.call.arguments']).toBe('{"city":"Oslo"}');
    expect(String(toolSpan.attributes['gen_ai.tool.call.result'])).toContain('celsius');
  });

  it('marks a failing tool call and a failed run as errors with their codes', async () => {
    const broken = defineTool({
      name: 'broken',
      description: 'Always fails',
      input: z.object({}),
      execute: async () => {
        throw new Error('boom');
      },
    });
    const assistant = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'broken', args: {}, callId: 'c1' }] },
        { error: new StewardError('model_unavailable', 'down', { retryable: false }) },
      ]),
      tools: [broken],
      retry: { retries: 0 },
      telemetry: { tracerProvider },
    });
    await assistant.run({ input: 'Go', userId: 'u1' }).result;
    const toolSpan = spanNamed('execute_tool broken');
    expect(toolSpan.status.code).toBe(SpanStatusCode.ERROR);
    expect(toolSpan.attributes['error.type']).toBe('tool_execution_failed');
    const root = spanNamed('invoke_agent steward');
    expect(root.status.code).toBe(SpanStatusCode.ERROR);
    expect(root.attributes['steward.run.partial']).toBe(true);
  });

  it('links a run resumed on another instance to the span of its origin', async () => {
    const storage = createInMemoryStorage();
    const coordinator = createInMemoryCoordinator();
    const { tool } = createMailTool();
    const wake = gate();
    // A goes quiet while paused (it reads decisions only once woken): B takes the run over.
    const quiet: Storage = {
      ...storage,
      listApprovals: async (runId, scope) => {
        await wake.promise;
        return storage.listApprovals(runId, scope);
      },
    };
    const limits = { approvalPollMs: 10, heartbeatMs: 50, streamPollMs: 10, exclusiveSessions: false };
    const a = new Assistant({
      model: createScriptedModel([
        { toolCalls: [{ name: 'send_email', args: { to: 'b@x.y' }, callId: 'c1' }] },
      ]),
      tools: [tool],
      storage: quiet,
      coordinator,
      limits,
      telemetry: { tracerProvider },
    });
    const b = new Assistant({
      model: createScriptedModel([{ text: 'Sent.' }]),
      tools: [tool],
      storage,
      coordinator,
      limits,
      telemetry: { tracerProvider },
    });
    const run = await a.start({ input: 'Mail b', userId: 'ann' });
    await expect
      .poll(async () => (await storage.getRun(run.id, { userId: 'ann' }))?.status)
      .toBe('awaiting_approval');
    const stored = (await storage.getRun(run.id, { userId: 'ann' }))?.options?.traceparent;
    const { run: resumed } = await b.approve('c1', { userId: 'ann' });
    wake.open();
    expect((await run.result).stopReason).toBe('handed_off');
    expect((await resumed?.result)?.stopReason).toBe('stop');

    const roots = exporter.getFinishedSpans().filter((span) => span.name === 'invoke_agent steward');
    expect(roots).toHaveLength(2);
    const origin = roots.find((span) => span.attributes['steward.run.resumed'] === false);
    const later = roots.find((span) => span.attributes['steward.run.resumed'] === true);
    if (origin === undefined) throw new Error('no origin span');
    expect(stored).toBe(toTraceparent(origin.spanContext()));
    expect(later?.links).toHaveLength(1);
    expect(later?.links[0]?.context.spanId).toBe(origin.spanContext().spanId);
    expect(later?.links[0]?.context.traceId).toBe(origin.spanContext().traceId);
    expect(later?.links[0]?.attributes).toEqual({ 'steward.link.type': 'run_origin' });
  });

  it('costs nothing and stores no trace context without an SDK', async () => {
    const storage = createInMemoryStorage();
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'Hi.' }]), storage });
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    await run.result;
    expect((await storage.getRun(run.id, { userId: 'u1' }))?.options).toEqual({});
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('parses only well-formed W3C traceparent values', () => {
    const value = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const parsed = parseTraceparent(value);
    expect(parsed && toTraceparent(parsed)).toBe(value);
    expect(parseTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01')).toBeUndefined();
    expect(parseTraceparent('garbage')).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });
});
