import { describe, expect, it } from 'vitest';
import type { ModelStreamPart } from '../model/language-model.ts';
import { createScriptedModel } from './scripted-model.ts';

async function toolCallParts(model: ReturnType<typeof createScriptedModel>): Promise<ModelStreamPart[]> {
  const parts: ModelStreamPart[] = [];
  for await (const part of model.doStream({
    messages: [],
    tools: [],
    signal: new AbortController().signal,
  })) {
    if (part.type === 'tool-call') parts.push(part);
  }
  return parts;
}

describe('createScriptedModel tool calls', () => {
  it('takes `arguments`, as the mock OpenAI server does: objects as JSON, text as is', async () => {
    const model = createScriptedModel([
      {
        toolCalls: [
          { name: 'get_weather', arguments: { city: 'Paris' }, callId: 'a' },
          { name: 'broken', arguments: '{"city":', callId: 'b' },
        ],
      },
    ]);
    expect(await toolCallParts(model)).toEqual([
      { type: 'tool-call', callId: 'a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'tool-call', callId: 'b', name: 'broken', arguments: '{"city":' },
    ]);
  });

  it('still takes the deprecated `args`', async () => {
    const model = createScriptedModel([
      { toolCalls: [{ name: 'get_weather', args: { city: 'Oslo' }, callId: 'c' }] },
    ]);
    expect(await toolCallParts(model)).toEqual([
      { type: 'tool-call', callId: 'c', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
  });
});
