import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { ModelStreamPart } from '../language-model.ts';
import { createOpenAIModel } from './openai-model.ts';

/** A client whose one completion streams `chunks`, as the `openai` package's Stream does. */
function clientStreaming(chunks: readonly unknown[]): OpenAI {
  const stream = {
    controller: new AbortController(),
    async *[Symbol.asyncIterator]() {
      yield* chunks;
    },
  };
  return { chat: { completions: { create: async () => stream } } } as unknown as OpenAI;
}

describe('createOpenAIModel', () => {
  it('names a tool call the server sent without an id with the injected generator', async () => {
    const model = createOpenAIModel({
      model: 'm',
      client: clientStreaming([
        { choices: [{ delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] } }] },
        { choices: [{ delta: {}, finish_reason: 'tool_calls' }] },
      ]),
      _internal: { generateId: () => 'fixed' },
    });
    const parts: ModelStreamPart[] = [];
    const request = { messages: [], tools: [], signal: new AbortController().signal };
    for await (const part of model.doStream(request)) parts.push(part);
    expect(parts.find((part) => part.type === 'tool-call')).toMatchObject({
      callId: 'call_fixed',
      name: 'f',
    });
  });
});
