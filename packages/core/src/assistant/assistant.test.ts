import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isStewardError, StewardError } from '../errors/steward-error.ts';
import { stewardEventSchema } from '../events/stream-event-schema.ts';
import { createInMemoryStorage } from '../storage/in-memory-storage.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import { Assistant } from './assistant.ts';
import { collect, types, weatherTool } from './test-helpers.ts';

describe('Assistant.run: events', () => {
  it('streams run_started, tokens, usage and final with gap-free seq from 1', async () => {
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'Hello there, friend.' }]) });
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    const events = await collect(run);

    expect(types(events)).toEqual(['run_started', 'token', 'token', 'token', 'usage', 'final']);
    expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const event of events) {
      expect(event.run_id).toBe(run.id);
      expect(stewardEventSchema.parse(event)).toEqual(event);
    }
    const tokens = events.flatMap((event) => (event.type === 'token' ? [event.text] : []));
    const final = events.at(-1);
    expect(final).toMatchObject({
      type: 'final',
      text: tokens.join(''),
      stop_reason: 'stop',
      partial: false,
    });
    const result = await run.result;
    expect(result).toMatchObject({ text: 'Hello there, friend.', stopReason: 'stop', partial: false });
    expect(result.usage).toEqual({ input_tokens: 10, output_tokens: 5, total_tokens: 15 });
  });

  it('replays every event to a second, late iterator', async () => {
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'one two' }]) });
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    const first = await collect(run);
    expect(await collect(run)).toEqual(first);
  });

  it('stores every event, in order, retrievable per user only', async () => {
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'stored words' }]) });
    const run = assistant.run({ input: 'Hi', userId: 'u1' });
    const events = await collect(run);
    await run.result;
    expect(await assistant.getRunEvents(run.id, { userId: 'u1' })).toEqual(events);
    expect(await assistant.getRunEvents(run.id, { userId: 'u1', afterSeq: 2 })).toEqual(events.slice(2));
    expect(await assistant.getRunEvents(run.id, { userId: 'intruder' })).toEqual([]);
    expect(await assistant.getRun(run.id, { userId: 'u1' })).toMatchObject({
      status: 'completed',
      stopReason: 'stop',
    });
  });

  it('tells observers through onEvent and the emitter, and survives an observer that throws', async () => {
    const seen: string[] = [];
    const warnings: StewardError[] = [];
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'ok' }]),
      onEvent: (event) => {
        seen.push(event.type);
        if (event.type === 'token') throw new Error('observer bug');
      },
    });
    const emitted: string[] = [];
    assistant.on('event', (event) => emitted.push(event.type));
    assistant.on('warning', (warning) => warnings.push(warning));
    const result = await assistant.run({ input: 'Hi', userId: 'u1' }).result;
    expect(result.stopReason).toBe('stop');
    expect(seen).toEqual(['run_started', 'token', 'usage', 'final']);
    // A throwing onEvent must not starve the emitter's listeners of the same event.
    expect(emitted).toEqual(['run_started', 'token', 'usage', 'final']);
    expect(warnings.map((warning) => warning.message)).toEqual(['The onEvent observer threw on token']);
  });
});

describe('Assistant.run: input and options', () => {
  it('rejects bad run input with a typed invalid_input error', () => {
    const assistant = new Assistant({ model: createScriptedModel([]) });
    for (const input of [
      { input: '', userId: 'u1' },
      { input: 'hi', userId: '' },
      { input: 'hi', userId: 'u1', options: { maxOutputTokens: -1 } },
      { input: 'hi', userId: 'u1', options: { unknown: true } },
    ]) {
      expect(() => assistant.run(input as never)).toThrow(
        expect.objectContaining({ code: 'invalid_input', name: 'StewardError' }),
      );
    }
  });

  it('rejects bad options with a typed invalid_options error', () => {
    expect(() => new Assistant({ model: {} as never })).toThrow(
      expect.objectContaining({ code: 'invalid_options' }),
    );
    expect(() => new Assistant({ model: createScriptedModel([]), limits: { maxSteps: 0 } })).toThrow(
      /limits.maxSteps/,
    );
  });

  it("reports another user's session as not found, without touching it", async () => {
    const storage = createInMemoryStorage();
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'mine' }, { text: 'theirs' }]),
      storage,
    });
    await assistant.run({ input: 'Hi', userId: 'alice', sessionId: 's1' }).result;
    const run = assistant.run({ input: 'Hi', userId: 'mallory', sessionId: 's1' });
    const events = await collect(run);
    // Refused at admission, before the run began: nothing of it is stored.
    expect(types(events)).toEqual(['error', 'final']);
    expect(events[0]).toMatchObject({ code: 'session_not_found', retryable: false });
    expect(await storage.getRun(run.id, { userId: 'mallory' })).toBeUndefined();
    expect((await run.result).stopReason).toBe('error');
    expect(await assistant.getHistory('s1', { userId: 'alice' })).toHaveLength(2);
  });
});

describe('Assistant.run: history and prompt', () => {
  it('carries earlier turns of the session into the next prompt', async () => {
    const model = createScriptedModel([{ text: 'Nice to meet you, Ada.' }, { text: 'You are Ada.' }]);
    const assistant = new Assistant({ model, system: 'Be brief.' });
    const first = await assistant.run({ input: 'I am Ada', userId: 'u1' }).result;
    await assistant.run({ input: 'Who am I?', userId: 'u1', sessionId: first.sessionId }).result;
    expect(model.requests[1]?.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'I am Ada' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: 'Who am I?' },
    ]);
  });

  it('trims the oldest history to the token budget', async () => {
    const model = createScriptedModel([{ text: 'a' }, { text: 'b' }, { text: 'c' }]);
    const assistant = new Assistant({ model, system: '', limits: { historyTokens: 12 } });
    const { sessionId } = await assistant.run({ input: 'x'.repeat(40), userId: 'u1' }).result;
    await assistant.run({ input: 'second', userId: 'u1', sessionId }).result;
    await assistant.run({ input: 'third', userId: 'u1', sessionId }).result;
    const contents = model.requests[2]?.messages.map((message) => message.content);
    expect(contents).toEqual(['second', 'b', 'third']);
  });

  it('adds retrieved memories to the system prompt, for this user only', async () => {
    const queries: unknown[] = [];
    const model = createScriptedModel([{ text: 'ok' }]);
    const assistant = new Assistant({
      model,
      system: 'Sys.',
      memory: {
        retrieve: async (query) => {
          queries.push(query);
          return [{ id: 'm1', text: 'Prefers tea' }];
        },
      },
    });
    await assistant.run({ input: 'Drink?', userId: 'u1', sessionId: 's' }).result;
    expect(queries).toEqual([{ userId: 'u1', sessionId: 's', text: 'Drink?', limit: 5 }]);
    expect(model.requests[0]?.messages[0]?.content).toContain('- Prefers tea');
  });

  it('offers only the tools the run allows', async () => {
    const model = createScriptedModel([{ text: 'ok' }, { text: 'ok' }]);
    const other = defineTool({ name: 'other', description: 'x', input: z.object({}), execute: () => 1 });
    const assistant = new Assistant({ model, tools: [weatherTool().tool, other] });
    await assistant.run({ input: 'a', userId: 'u', options: { toolOverrides: { allow: ['other'] } } }).result;
    await assistant.run({ input: 'a', userId: 'u', options: { toolOverrides: { deny: ['other'] } } }).result;
    expect(model.requests[0]?.tools.map((tool) => tool.name)).toEqual(['other']);
    expect(model.requests[1]?.tools.map((tool) => tool.name)).toEqual(['get_weather']);
    expect(model.requests[1]?.tools[0]?.inputSchema).toMatchObject({
      type: 'object',
      properties: { city: { type: 'string', minLength: 1 } },
      required: ['city'],
    });
  });

  it('passes the lower of the run and assistant output limits to the model', async () => {
    const model = createScriptedModel([{ text: 'a' }, { text: 'b' }]);
    const assistant = new Assistant({ model, limits: { maxOutputTokens: 100 } });
    await assistant.run({ input: 'a', userId: 'u' }).result;
    await assistant.run({ input: 'a', userId: 'u', options: { maxOutputTokens: 20 } }).result;
    expect(model.requests.map((request) => request.maxOutputTokens)).toEqual([100, 20]);
  });
});

describe('Assistant.run: model failures', () => {
  it('retries a retryable failure before any output, waiting at least Retry-After', async () => {
    const model = createScriptedModel([
      { error: new StewardError('model_rate_limited', '429', { details: { retryAfterMs: 30 } }) },
      { text: 'recovered' },
    ]);
    const warnings: StewardError[] = [];
    const assistant = new Assistant({ model, retry: { minTimeoutMs: 1, maxTimeoutMs: 2 } });
    assistant.on('warning', (warning) => warnings.push(warning));
    const started = performance.now();
    const result = await assistant.run({ input: 'hi', userId: 'u' }).result;
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(result).toMatchObject({ text: 'recovered', stopReason: 'stop' });
    expect(model.requests).toHaveLength(2);
    expect(warnings[0]?.message).toMatch(/model_rate_limited, attempt 1/);
  });

  it('does not retry a non-retryable failure and reports it as an error event', async () => {
    const model = createScriptedModel([
      { error: new StewardError('model_error', 'bad request') },
      { text: 'never' },
    ]);
    const run = new Assistant({ model }).run({ input: 'hi', userId: 'u' });
    const events = await collect(run);
    expect(types(events)).toEqual(['run_started', 'error', 'final']);
    expect(events[1]).toMatchObject({ code: 'model_error', message: 'bad request', retryable: false });
    expect(events[2]).toMatchObject({ stop_reason: 'error', partial: true });
    expect(model.requests).toHaveLength(1);
    expect((await run.result).error?.code).toBe('model_error');
  });

  it('does not retry once text was streamed, and keeps that text as a partial answer', async () => {
    const model = createScriptedModel([
      { text: 'half an', errorAfterText: new StewardError('model_unavailable', 'connection reset') },
      { text: 'never' },
    ]);
    const assistant = new Assistant({ model, retry: { minTimeoutMs: 1 } });
    const run = assistant.run({ input: 'hi', userId: 'u' });
    const events = await collect(run);
    expect(types(events)).toEqual(['run_started', 'token', 'token', 'error', 'final']);
    expect(events.at(-1)).toMatchObject({ text: 'half an', stop_reason: 'error', partial: true });
    expect(model.requests).toHaveLength(1);
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.at(-1)?.message).toEqual({ role: 'assistant', content: 'half an', partial: true });
  });

  it('ends a stalled stream with a partial final answer and a retryable error, keeping the text', async () => {
    const model = createScriptedModel([{ text: 'I was saying', stallAfterText: true }]);
    const assistant = new Assistant({ model, limits: { stallTimeoutMs: 40 } });
    const run = assistant.run({ input: 'hi', userId: 'u' });
    const events = await collect(run);
    expect(types(events).slice(-2)).toEqual(['error', 'final']);
    expect(events.at(-2)).toMatchObject({ code: 'model_stream_stalled', retryable: true });
    expect(events.at(-1)).toMatchObject({ text: 'I was saying', stop_reason: 'stalled', partial: true });
    await run.result;
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.at(-1)?.message).toEqual({ role: 'assistant', content: 'I was saying', partial: true });
    expect(await assistant.getRun(run.id, { userId: 'u' })).toMatchObject({
      status: 'failed',
      partial: true,
    });
  });

  it('stops the model stream on abort and keeps the partial text', async () => {
    // The model streams two words, then waits: only the abort ends its stream.
    const model = createScriptedModel([{ text: 'one two ', stallAfterText: true }]);
    const assistant = new Assistant({ model });
    const run = assistant.run({ input: 'hi', userId: 'u' });
    const events = [];
    for await (const event of run) {
      events.push(event);
      if (event.type === 'token' && event.text.startsWith('two')) run.abort();
    }
    const result = await run.result;
    expect(result).toMatchObject({ stopReason: 'aborted', partial: true, text: 'one two ' });
    expect(types(events)).not.toContain('error');
    expect(model.requests[0]?.signal.aborted).toBe(true);
    const history = await assistant.getHistory(run.sessionId, { userId: 'u' });
    expect(history.at(-1)?.message).toEqual({ role: 'assistant', content: 'one two ', partial: true });
  });

  it("honours the caller's AbortSignal, even one aborted before the run starts", async () => {
    const assistant = new Assistant({ model: createScriptedModel([{ text: 'never' }]) });
    const result = await assistant.run({ input: 'hi', userId: 'u', signal: AbortSignal.abort('gone') })
      .result;
    expect(result).toMatchObject({ stopReason: 'aborted', text: '' });
  });

  it('ends a run that exceeds runTimeoutMs with a timeout', async () => {
    const model = createScriptedModel([{ text: 'slow', stallAfterText: true }]);
    const assistant = new Assistant({ model, limits: { runTimeoutMs: 40, stallTimeoutMs: 10_000 } });
    const events = await collect(assistant.run({ input: 'hi', userId: 'u' }));
    expect(events.at(-2)).toMatchObject({ type: 'error', code: 'run_timeout', retryable: true });
    expect(events.at(-1)).toMatchObject({ stop_reason: 'timeout', partial: true, text: 'slow' });
  });
});

describe('Assistant.run: adapters that never answer', () => {
  it('ends at the run timeout even when a tool provider never lists', async () => {
    const stuck = {
      name: 'stuck',
      listTools: () => new Promise<never>(() => {}),
      callTool: () => new Promise<never>(() => {}),
    };
    const assistant = new Assistant({
      model: createScriptedModel([{ text: 'never' }]),
      tools: [stuck],
      limits: { runTimeoutMs: 50 },
    });
    const events = await collect(assistant.run({ input: 'x', userId: 'u' }));
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'timeout' });
  });

  it('ends on abort even when the model ignores its signal', async () => {
    const deaf = {
      specificationVersion: 'v1' as const,
      provider: 'deaf',
      modelId: 'deaf',
      async *doStream() {
        yield { type: 'text-delta' as const, text: 'partial ' };
        await new Promise(() => {});
      },
    };
    const run = new Assistant({ model: deaf }).run({ input: 'x', userId: 'u' });
    for await (const event of run) if (event.type === 'token') run.abort();
    expect(await run.result).toMatchObject({ stopReason: 'aborted', text: 'partial ' });
  });

  it('refuses timeouts that setTimeout cannot hold', () => {
    expect(() => new Assistant({ model: createScriptedModel([]), limits: { runTimeoutMs: 1e10 } })).toThrow(
      /runTimeoutMs/,
    );
  });

  it('survives a warning listener that throws', async () => {
    const model = createScriptedModel([
      { error: new StewardError('model_unavailable', 'blip') },
      { text: 'fine' },
    ]);
    const assistant = new Assistant({ model, retry: { minTimeoutMs: 1 } });
    const heard: string[] = [];
    assistant.on('warning', (warning) => {
      heard.push(warning.message);
      throw new Error('listener bug');
    });
    const events = await collect(assistant.run({ input: 'x', userId: 'u' }));
    // The listener really ran (and threw) on the retry's warning, and the run went on.
    expect(heard).toEqual([expect.stringContaining('Model call failed (model_unavailable, attempt 1)')]);
    expect(events.filter((event) => event.type === 'final')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ stop_reason: 'stop', text: 'fine' });
  });
});

describe('StewardError guards', () => {
  it('recognise errors by marker, across copies of the package', () => {
    const error = new StewardError('tool_timeout', 'slow');
    expect(isStewardError(error)).toBe(true);
    expect(isStewardError(error, 'tool_timeout')).toBe(true);
    expect(error.retryable).toBe(true);
    const foreign = Object.assign(new Error('x'), {
      [Symbol.for('steward.error')]: true,
      code: 'model_error',
    });
    expect(isStewardError(foreign)).toBe(true);
    expect(isStewardError(new Error('plain'))).toBe(false);
  });
});
