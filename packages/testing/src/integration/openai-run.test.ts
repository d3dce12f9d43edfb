import { Assistant, defineTool, type StewardEvent } from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type MockOpenAIServer, startMockOpenAI } from '../mock-openai/mock-openai-server.ts';

let mock: MockOpenAIServer;
beforeAll(async () => {
  mock = await startMockOpenAI({ apiKey: 'sk-test' });
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

async function collect(run: AsyncIterable<StewardEvent>): Promise<StewardEvent[]> {
  const events: StewardEvent[] = [];
  for await (const event of run) events.push(event);
  return events;
}

function weather() {
  const calls: string[] = [];
  const tool = defineTool({
    name: 'get_weather',
    description: 'Current weather for a city',
    input: z.object({ city: z.string() }),
    execute: ({ city }) => {
      calls.push(city);
      return { city, celsius: city.length };
    },
  });
  return { tool, calls };
}

describe.each(['chat', 'responses'] as const)('Steward over the %s API, against the mock server', (api) => {
  const assistantFor = (options: Partial<ConstructorParameters<typeof Assistant>[0]> = {}) =>
    new Assistant({
      model: createOpenAIModel({ model: 'gpt-test', api, baseURL: mock.baseURL, apiKey: 'sk-test' }),
      retry: { minTimeoutMs: 1, maxTimeoutMs: 5 },
      ...options,
    });

  it('runs the whole tool loop, with events in order and usage from the provider', async () => {
    const { tool, calls } = weather();
    mock.enqueue(
      {
        text: 'Let me check.',
        toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' }, id: 'call_a' }],
        argumentChunkSize: 3,
      },
      { text: 'It is 5 degrees in Paris.' },
    );
    const run = assistantFor({ tools: [tool] }).run({ input: 'Weather in Paris?', userId: 'u' });
    const events = await collect(run);
    const kinds = events.map((event) => event.type).filter((type) => type !== 'token');
    expect(kinds).toEqual(['run_started', 'usage', 'tool_request', 'tool_result', 'usage', 'final']);
    expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));
    expect(events.find((event) => event.type === 'tool_request')).toMatchObject({
      call_id: 'call_a',
      args: { city: 'Paris' },
    });
    expect(calls).toEqual(['Paris']);
    const result = await run.result;
    expect(result.text).toBe('Let me check.It is 5 degrees in Paris.');
    expect(result.usage.input_tokens).toBeGreaterThan(0);
    expect(result.usage.output_tokens).toBeGreaterThan(0);

    const second = mock.requests[1];
    expect(second?.stream).toBe(true);
    if (api === 'chat') {
      expect(second?.body.stream_options).toEqual({ include_usage: true });
      expect((second?.body.messages as unknown[] | undefined)?.slice(-2)).toMatchObject([
        {
          role: 'assistant',
          tool_calls: [{ id: 'call_a', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"city":"Paris","celsius":5}' },
      ]);
    } else {
      expect((second?.body.input as unknown[] | undefined)?.slice(-2)).toMatchObject([
        { type: 'function_call', call_id: 'call_a', name: 'get_weather' },
        { type: 'function_call_output', call_id: 'call_a', output: '{"city":"Paris","celsius":5}' },
      ]);
    }
  });

  it('assembles parallel tool calls whose argument deltas interleave', async () => {
    const { tool, calls } = weather();
    mock.enqueue(
      {
        toolCalls: [
          { name: 'get_weather', arguments: { city: 'Reykjavik' } },
          { name: 'get_weather', arguments: { city: 'Lima' } },
          { name: 'get_weather', arguments: { city: 'Ulaanbaatar' } },
        ],
        argumentChunkSize: 2,
        interleaveToolCalls: true,
      },
      { text: 'Done.' },
    );
    await assistantFor({ tools: [tool] }).run({ input: 'three cities', userId: 'u' }).result;
    expect(calls.sort()).toEqual(['Lima', 'Reykjavik', 'Ulaanbaatar']);
  });

  it('returns broken tool arguments to the model as a tool error and goes on', async () => {
    const { tool, calls } = weather();
    mock.enqueue(
      { toolCalls: [{ name: 'get_weather', arguments: '{"city": Par' }] },
      { text: 'Let me retry later.' },
    );
    const run = assistantFor({ tools: [tool] }).run({ input: 'x', userId: 'u' });
    const events = await collect(run);
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'tool_invalid_arguments' },
    });
    expect(calls).toEqual([]);
    expect(JSON.stringify(mock.requests[1]?.body)).toContain('tool_invalid_arguments');
    expect((await run.result).stopReason).toBe('stop');
  });

  it('retries a 429 after its Retry-After, then a 500, then succeeds', async () => {
    mock.enqueue(
      { fault: { type: 'rate_limit', retryAfterSeconds: 1 } },
      { fault: { type: 'http_error', status: 503 } },
      { text: 'finally' },
    );
    const started = performance.now();
    const result = await assistantFor().run({ input: 'x', userId: 'u' }).result;
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(result).toMatchObject({ text: 'finally', stopReason: 'stop' });
    expect(mock.requests).toHaveLength(3);
  });

  it('gives up on a 400 at once, with a typed, non-retryable error', async () => {
    mock.enqueue({ fault: { type: 'http_error', status: 400, message: 'Unsupported parameter' } });
    const events = await collect(assistantFor().run({ input: 'x', userId: 'u' }));
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'model_error', retryable: false });
    expect(mock.requests).toHaveLength(1);
  });

  it('retries a connection cut before any output', async () => {
    mock.enqueue({ text: 'lost', fault: { type: 'disconnect', afterChunks: 0 } }, { text: 'second try' });
    const result = await assistantFor().run({ input: 'x', userId: 'u' }).result;
    expect(result.text).toBe('second try');
  });

  it('keeps the partial answer when the connection is cut mid-stream, without repeating it', async () => {
    const words = Array.from({ length: 20 }, (_value, index) => `w${index}`).join(' ');
    mock.enqueue(
      { text: words, fault: { type: 'disconnect', afterChunks: 8 } },
      { text: 'must not be used' },
    );
    const assistant = assistantFor();
    const run = assistant.run({ input: 'x', userId: 'u' });
    const events = await collect(run);
    const final = events.at(-1);
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'model_unavailable', retryable: true });
    expect(final).toMatchObject({ type: 'final', stop_reason: 'error', partial: true });
    expect(final?.type === 'final' && final.text.length).toBeGreaterThan(0);
    expect(words.startsWith(final?.type === 'final' ? final.text : '?')).toBe(true);
    expect(mock.requests).toHaveLength(1);
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.at(-1)?.message).toMatchObject({ role: 'assistant', partial: true });
  });

  it('ends a stalled stream with the partial answer and a retryable error', async () => {
    mock.enqueue({ text: 'one two three four five', fault: { type: 'stall', afterChunks: 6 } });
    const assistant = assistantFor({ limits: { stallTimeoutMs: 150 } });
    const run = assistant.run({ input: 'x', userId: 'u' });
    const events = await collect(run);
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'model_stream_stalled', retryable: true });
    const final = events.at(-1);
    expect(final).toMatchObject({ stop_reason: 'stalled', partial: true });
    expect(final?.type === 'final' && final.text).toMatch(/^one/);
    await expect.poll(() => mock.requests[0]?.clientClosedEarly).toBe(true);
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.at(-1)?.message).toMatchObject({ role: 'assistant', partial: true });
  });

  it('does not mistake slowly streamed tool arguments for a stall', async () => {
    const { tool, calls } = weather();
    mock.enqueue(
      {
        toolCalls: [{ name: 'get_weather', arguments: { city: 'Antananarivo' } }],
        argumentChunkSize: 1,
        chunkDelayMs: 15,
      },
      { text: 'Warm.' },
    );
    const result = await assistantFor({ tools: [tool], limits: { stallTimeoutMs: 120 } }).run({
      input: 'x',
      userId: 'u',
    }).result;
    expect(result.stopReason).toBe('stop');
    expect(calls).toEqual(['Antananarivo']);
    expect(mock.requests).toHaveLength(2);
  });

  it('reports a chunk that is not JSON as a model failure', async () => {
    mock.enqueue({ text: 'a b c d e', fault: { type: 'malformed', afterChunks: 6 } });
    const events = await collect(assistantFor().run({ input: 'x', userId: 'u' }));
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'model_unavailable' });
    expect(events.at(-1)).toMatchObject({ type: 'final', partial: true });
  });

  it('aborts the HTTP stream on run.abort()', async () => {
    mock.enqueue({ text: Array.from({ length: 200 }, () => 'tick').join(' '), chunkDelayMs: 5 });
    const run = assistantFor().run({ input: 'x', userId: 'u' });
    let tokens = 0;
    for await (const event of run) {
      if (event.type === 'token' && ++tokens === 5) run.abort();
    }
    const result = await run.result;
    expect(result).toMatchObject({ stopReason: 'aborted', partial: true });
    expect(result.text.split('tick').length - 1).toBeLessThan(50);
    await expect.poll(() => mock.requests[0]?.clientClosedEarly).toBe(true);
  });

  it('maps the output limit and a length finish', async () => {
    mock.enqueue({ text: 'cut short', finishReason: 'length' });
    const result = await assistantFor().run({ input: 'x', userId: 'u', options: { maxOutputTokens: 7 } })
      .result;
    expect(result.stopReason).toBe('length');
    const body = mock.requests[0]?.body;
    expect(api === 'chat' ? body?.max_completion_tokens : body?.max_output_tokens).toBe(7);
  });

  it('ends at the step limit over HTTP', async () => {
    const { tool } = weather();
    const loop = { toolCalls: [{ name: 'get_weather', arguments: { city: 'Loop' } }] };
    mock.enqueue(loop, loop, loop);
    const result = await assistantFor({ tools: [tool], limits: { maxSteps: 2 } }).run({
      input: 'x',
      userId: 'u',
    }).result;
    expect(result.stopReason).toBe('max_steps');
    expect(mock.requests).toHaveLength(2);
  });
});

describe('createOpenAIModel configuration', () => {
  it('honours OPENAI_API_KEY and OPENAI_BASE_URL like the openai package', async () => {
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    process.env.OPENAI_API_KEY = 'sk-test';
    process.env.OPENAI_BASE_URL = mock.baseURL;
    try {
      mock.enqueue({ text: 'from env' });
      const assistant = new Assistant({ model: createOpenAIModel({ model: 'gpt-test' }) });
      expect((await assistant.run({ input: 'x', userId: 'u' }).result).text).toBe('from env');
      expect(mock.requests[0]?.headers.authorization).toBe('Bearer sk-test');
    } finally {
      if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved.key;
      if (saved.url === undefined) delete process.env.OPENAI_BASE_URL;
      else process.env.OPENAI_BASE_URL = saved.url;
    }
  });

  it('rejects bad options with a typed error', () => {
    expect(() => createOpenAIModel({ model: '' })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
    expect(() => createOpenAIModel({ model: 'm', api: 'soap' as never })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/api/) }),
    );
    expect(() => createOpenAIModel({ model: 'm', baseURL: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'invalid_options', message: expect.stringMatching(/baseURL/) }),
    );
  });
});

describe('createOpenAIEmbedder', () => {
  it('embeds texts through the embeddings API, in order, with the promised length', async () => {
    const { createOpenAIEmbedder } = await import('@steward/core/openai');
    const embedder = createOpenAIEmbedder({
      baseURL: mock.baseURL,
      apiKey: 'sk-test',
      dimensions: 64,
      batchSize: 2,
    });
    const vectors = await embedder.embed(['green tea', 'black coffee', 'green tea']);
    expect(vectors).toHaveLength(3);
    expect(vectors.every((vector) => vector.length === 64)).toBe(true);
    expect(vectors[0]).toEqual(vectors[2]);
    expect(vectors[0]).not.toEqual(vectors[1]);
    expect(() => createOpenAIEmbedder({ dimensions: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
  });
});
