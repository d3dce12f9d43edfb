import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MockOpenAIServer, startMockOpenAI } from './mock-openai-server.ts';

let mock: MockOpenAIServer;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockOpenAI({ apiKey: 'sk-test' });
  client = new OpenAI({ apiKey: 'sk-test', baseURL: mock.baseURL, maxRetries: 0 });
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

const weatherCall = { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' }, id: 'call_1' };

describe('mock OpenAI: Chat Completions', () => {
  it('streams text deltas, tool-call arguments split across chunks, and usage last', async () => {
    mock.enqueue({ text: 'Checking the weather.', toolCalls: [weatherCall], argumentChunkSize: 5 });
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'Weather?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Checking the weather.');
    const argumentChunks = chunks.filter(
      (chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments,
    );
    expect(argumentChunks.length).toBeGreaterThan(3);
    const argumentsText = argumentChunks
      .map((chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments)
      .join('');
    expect(JSON.parse(argumentsText)).toEqual(weatherCall.arguments);
    expect(
      chunks.find((chunk) => chunk.choices[0]?.delta.tool_calls?.[0]?.id)?.choices[0]?.delta.tool_calls?.[0],
    ).toMatchObject({
      index: 0,
      id: 'call_1',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('tool_calls');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    expect(last?.usage?.total_tokens).toBe(
      (last?.usage?.prompt_tokens ?? 0) + (last?.usage?.completion_tokens ?? 0),
    );
  });

  it('sends no usage chunk unless asked', async () => {
    mock.enqueue({ text: 'hi' });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.usage === undefined)).toBe(true);
  });

  it('answers without streaming too, echoing by default', async () => {
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'ping' }],
    });
    expect(completion.choices[0]?.message.content).toBe('You said: ping');
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    expect(mock.requests[0]).toMatchObject({ api: 'chat', stream: false, body: { model: 'm' } });
  });

  it('rejects a tool message that answers no call, as OpenAI does', async () => {
    const request = client.chat.completions.create({
      model: 'm',
      messages: [
        { role: 'user', content: 'x' },
        { role: 'tool', tool_call_id: 'nope', content: '1' },
      ],
    });
    await expect(request).rejects.toMatchObject({ status: 400 });
  });

  it('rejects a malformed body and a wrong key', async () => {
    await expect(client.chat.completions.create({ model: 'm', messages: [] })).rejects.toMatchObject({
      status: 400,
    });
    const stranger = new OpenAI({ apiKey: 'wrong', baseURL: mock.baseURL, maxRetries: 0 });
    await expect(
      stranger.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 401,
    });
  });

  it('injects a 429 with Retry-After', async () => {
    mock.enqueue({ fault: { type: 'rate_limit', retryAfterSeconds: 7 } });
    const error = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
      .catch((caught) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.headers.get('retry-after')).toBe('7');
  });
});

describe('mock OpenAI: Responses', () => {
  it('streams named events with rising sequence numbers and a completed response with usage', async () => {
    mock.enqueue({ text: 'Two words', toolCalls: [weatherCall] });
    const stream = await client.responses.create({ model: 'm', input: 'Weather?', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index));
    expect(events[0]?.type).toBe('response.created');
    const deltas = events.flatMap((event) =>
      event.type === 'response.output_text.delta' ? [event.delta] : [],
    );
    expect(deltas.join('')).toBe('Two words');
    const argumentsDone = events.find((event) => event.type === 'response.function_call_arguments.done');
    expect(argumentsDone && JSON.parse(argumentsDone.arguments)).toEqual(weatherCall.arguments);
    const completed = events.at(-1);
    expect(completed?.type).toBe('response.completed');
    if (completed?.type === 'response.completed') {
      expect(completed.response.usage?.output_tokens).toBeGreaterThan(0);
      expect(completed.response.output.map((item) => item.type)).toEqual(['message', 'function_call']);
    }
  });

  it('answers without streaming, with output_text', async () => {
    mock.enqueue({ text: 'plain' });
    const response = await client.responses.create({ model: 'm', input: 'x' });
    expect(response.output_text).toBe('plain');
  });

  it('rejects a function_call_output with no call', async () => {
    const request = client.responses.create({
      model: 'm',
      input: [{ type: 'function_call_output', call_id: 'x', output: '1' }],
    });
    await expect(request).rejects.toMatchObject({ status: 400 });
  });
});
