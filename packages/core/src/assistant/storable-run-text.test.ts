import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent, ToolRequestEvent, ToolResultEvent } from '../events/stream-event.ts';
import { findUnstorableText } from '../internal/storable-text.ts';
import type { LanguageModel, ModelRequest, ModelStreamPart } from '../model/language-model.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import { Assistant } from './assistant.ts';
import { collect } from './test-helpers.ts';

// Every storage refuses NUL and lone surrogates (PostgreSQL cannot keep them), and a model or a
// tool can produce both: the run loop replaces them with U+FFFD where they come in, so the run
// completes and everything it wrote is stored.

/** A model that streams exactly these parts, then tool calls (if any) and a finish. */
function streamingModel(steps: readonly (readonly ModelStreamPart[])[]): LanguageModel & {
  requests: ModelRequest[];
} {
  const requests: ModelRequest[] = [];
  return {
    specificationVersion: 'v1',
    provider: 'test',
    modelId: 'test',
    requests,
    async *doStream(request) {
      const parts = steps[requests.length];
      requests.push(request);
      yield* parts ?? [{ type: 'text-delta', text: 'done' }];
      yield { type: 'finish', reason: 'stop' };
    },
  };
}

async function runToEnd(assistant: Assistant) {
  const run = assistant.run({ input: 'go', userId: 'ann' });
  const events = await collect(run);
  const result = await run.result;
  const stored = await assistant.storage.listEvents(result.runId, { userId: 'ann' });
  const history = await assistant.getHistory(result.sessionId, { userId: 'ann' });
  const record = await assistant.storage.getRun(result.runId, { userId: 'ann' });
  expect(result).toMatchObject({ stopReason: 'stop', partial: false });
  expect(record?.status).toBe('completed');
  return { events, result, stored, history };
}

const tokenText = (events: readonly StewardEvent[]) =>
  events.flatMap((event) => (event.type === 'token' ? [event.text] : [])).join('');

describe('text a storage cannot keep, from the model or a tool', () => {
  it('replaces NUL and lone surrogates in streamed text, and keeps a pair split across deltas', async () => {
    const model = streamingModel([
      [
        { type: 'text-delta', text: 'Hi\u0000' },
        { type: 'text-delta', text: ' lone \udc00,' },
        { type: 'text-delta', text: ' split \ud83d' },
        { type: 'text-delta', text: '\ude00 and cut \ud83d' },
      ],
    ]);
    const assistant = new Assistant({ model, storage: createInMemoryStorage() });
    const { events, result, stored, history } = await runToEnd(assistant);
    const expected = 'Hi\uFFFD lone \uFFFD, split 😀 and cut \uFFFD';
    expect(result.text).toBe(expected);
    expect(tokenText(events)).toBe(expected);
    expect(stored).toEqual(events);
    expect(history.at(-1)?.message).toEqual({ role: 'assistant', content: expected });
  });

  it('cleans tool-call arguments, raw and escaped, before the tool, the events and the history', async () => {
    const seen: string[] = [];
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks a word up',
      input: z.object({ word: z.string() }),
      execute: ({ word }) => {
        seen.push(word);
        return `found ${word}`;
      },
    });
    const model = streamingModel([
      [
        // JSON escapes that JSON.parse turns into NUL and a lone surrogate, and a raw NUL in the call.
        { type: 'tool-call', callId: 'c\u00001', name: 'lookup', arguments: '{"word":"a\\u0000b\\ud800"}' },
        { type: 'tool-call', callId: 'c2', name: 'lookup', arguments: '{"word":"raw\u0000"}' },
      ],
    ]);
    const assistant = new Assistant({ model, tools: [lookup] });
    const { events, stored, history } = await runToEnd(assistant);
    expect(seen).toEqual(['a\uFFFDb\uFFFD', 'raw\uFFFD']);
    const requests = events.filter((event): event is ToolRequestEvent => event.type === 'tool_request');
    expect(requests.map((event) => [event.call_id, event.args])).toEqual([
      ['c\uFFFD1', { word: 'a\uFFFDb\uFFFD' }],
      ['c2', { word: 'raw\uFFFD' }],
    ]);
    expect(stored).toEqual(events);
    expect(findUnstorableText(history, 'history')).toBeUndefined();
  });

  it('cleans what tools return, throw and report, and never cuts a surrogate pair in two', async () => {
    const tools = [
      defineTool({
        name: 'text',
        description: 'Returns text',
        input: z.object({}),
        execute: () => 'nul\u0000 lone\udfff',
      }),
      defineTool({
        name: 'json',
        description: 'Returns JSON',
        input: z.object({}),
        execute: (_args, context) => {
          context.reportProgress({ progress: 1, message: 'half\u0000way' });
          return { 'key\u0000': ['ok', 'bad\ud800'], kept: 1 };
        },
      }),
      defineTool({
        name: 'broken',
        description: 'Fails',
        input: z.object({}),
        execute: () => {
          throw new StewardError('tool_execution_failed', 'failed on \u0000', {
            details: { output: 'x\udc00' },
          });
        },
      }),
      defineTool({
        name: 'emoji',
        description: 'Returns a long text',
        input: z.object({}),
        // 😀 is two UTF-16 units: a cut after 61 units falls inside the 31st.
        execute: () => '😀'.repeat(40),
      }),
    ];
    const model = createScriptedModel([
      { toolCalls: tools.map((tool) => ({ name: tool.name, args: {} })) },
      { text: 'ok' },
    ]);
    const assistant = new Assistant({ model, tools, limits: { maxToolResultChars: 61 } });
    const { events, stored, history } = await runToEnd(assistant);
    expect(stored).toEqual(events);
    expect(findUnstorableText(history, 'history')).toBeUndefined();
    const results = events.filter((event): event is ToolResultEvent => event.type === 'tool_result');
    const byTool = Object.fromEntries(results.map((event) => [event.tool_slug, event]));
    expect(byTool.text?.result).toBe('nul\uFFFD lone\uFFFD');
    expect(byTool.json?.result).toEqual({ 'key\uFFFD': ['ok', 'bad\uFFFD'], kept: 1 });
    expect(byTool.broken?.error).toEqual({
      code: 'tool_execution_failed',
      message: 'failed on \uFFFD',
      details: { output: 'x\uFFFD' },
    });
    expect(byTool.emoji?.result).toMatch(/^(😀){30}… \[truncated/);
    expect(events.find((event) => event.type === 'tool_progress')).toMatchObject({
      message: 'half\uFFFDway',
    });
  });
});
