import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createInMemoryCoordinator } from '../coordination/in-memory-coordinator.ts';
import type { InputRequiredEvent, StewardEvent } from '../events/stream-event.ts';
import { stewardEventSchema } from '../events/stream-event-schema.ts';
import { createScriptedModel } from '../testing/scripted-model.ts';
import { defineTool } from '../tools/define-tool.ts';
import type { InputRequest, InputResponse } from '../tools/input-request.ts';
import { Assistant } from './assistant.ts';
import { collect, manualClock, types } from './test-helpers.ts';

const deskForm: InputRequest = {
  mode: 'form',
  message: 'Which floor?',
  requestedSchema: {
    type: 'object',
    properties: {
      floor: { type: 'integer', minimum: 1, maximum: 9, title: 'Floor' },
      quiet: { type: 'boolean', default: true },
      side: {
        type: 'string',
        oneOf: [
          { const: 'n', title: 'North' },
          { const: 's', title: 'South' },
        ],
      },
    },
    required: ['floor'],
  },
};

/** A tool that asks the user (once per request given) and records what it was told. */
function askingTool(requests: readonly InputRequest[] = [deskForm]) {
  const answers: InputResponse[] = [];
  const tool = defineTool({
    name: 'book_desk',
    description: 'Books a desk',
    input: z.object({}),
    execute: async (_args, context) => {
      for (const request of requests)
        answers.push(await (context.requestInput?.(request) as Promise<InputResponse>));
      return answers.at(-1);
    },
  });
  return { tool, answers };
}

function deskAssistant(options: Partial<ConstructorParameters<typeof Assistant>[0]> = {}) {
  const { tool, answers } = askingTool();
  const assistant = new Assistant({
    model: createScriptedModel([
      { toolCalls: [{ name: 'book_desk', args: {}, callId: 'c1' }] },
      { text: 'Done.' },
    ]),
    tools: [tool],
    ...options,
  });
  return { assistant, answers };
}

/** Reads the run until its first `input_required`, then hands it over. */
async function untilInput(events: AsyncIterable<StewardEvent>): Promise<InputRequiredEvent> {
  for await (const event of events) if (event.type === 'input_required') return event;
  throw new Error('the run ended without asking for input');
}

afterEach(() => {
  vi.useRealTimers();
});

describe('requests for input (elicitation) through the Assistant', () => {
  it('emits input_required, takes the owner’s answer with defaults filled in, and never puts the content in an event', async () => {
    const clock = manualClock();
    const { assistant, answers } = deskAssistant({ _internal: { now: clock.now } });
    const run = assistant.run({ input: 'Book a desk', userId: 'ann' });
    const request = await untilInput(run);
    expect(request).toMatchObject({
      call_id: 'c1',
      tool_slug: 'book_desk',
      server: 'local',
      message: 'Which floor?',
      mode: 'form',
      requested_schema: deskForm.requestedSchema,
      expires_at: expect.any(String),
    });
    // Ten minutes by default.
    expect(request.expires_at).toBe(clock.iso(600_000));
    await assistant.respondToInput(
      run.id,
      request.request_id,
      { action: 'accept', content: { floor: 3, side: 's' } },
      { userId: 'ann' },
    );
    const events = await collect(run);
    expect(answers).toEqual([{ action: 'accept', content: { floor: 3, quiet: true, side: 's' } }]);
    expect(types(events).filter((type) => type !== 'usage')).toEqual([
      'run_started',
      'tool_request',
      'input_required',
      'input_resolved',
      'tool_result',
      'token',
      'final',
    ]);
    expect(events.find((event) => event.type === 'input_resolved')).toEqual(
      expect.objectContaining({ request_id: request.request_id, call_id: 'c1', action: 'accept' }),
    );
    const resolved = events.find((event) => event.type === 'input_resolved') as StewardEvent;
    expect(Object.keys(resolved).sort()).toEqual(
      ['action', 'call_id', 'request_id', 'run_id', 'seq', 'timestamp', 'type'].sort(),
    );
    expect(JSON.stringify(events.filter((event) => event.type !== 'tool_result'))).not.toContain(
      '"side":"s"',
    );
    const stored = await assistant.getRunEvents(run.id, { userId: 'ann' });
    for (const event of stored) expect(stewardEventSchema.parse(event)).toEqual(event);
  });

  it('refuses content that does not fit the form (the request stays open), then takes a corrected one', async () => {
    const { assistant, answers } = deskAssistant();
    const run = assistant.run({ input: 'Book a desk', userId: 'ann' });
    const { request_id } = await untilInput(run);
    const scope = { userId: 'ann' };
    const refusals = await Promise.all(
      [
        { action: 'accept', content: { floor: 12 } },
        { action: 'accept', content: { quiet: false } },
        { action: 'accept', content: { floor: 2, side: 'east' } },
        { action: 'accept', content: { floor: 2, badge: 'x' } },
        { action: 'accept', content: { floor: 2.5 } },
        { action: 'decline', content: { floor: 2 } },
        { action: 'maybe' },
      ].map((answer) =>
        assistant.respondToInput(run.id, request_id, answer as InputResponse, scope).catch((error) => error),
      ),
    );
    for (const refusal of refusals) expect(refusal).toMatchObject({ code: 'invalid_input' });
    expect(refusals[0].details.issues).toEqual([expect.objectContaining({ path: 'content.floor' })]);
    expect(refusals[1].details.issues).toEqual([expect.objectContaining({ path: 'content.floor' })]);
    expect(refusals[3].message).toMatch(/badge/);
    expect(answers).toEqual([]);
    await assistant.respondToInput(run.id, request_id, { action: 'accept', content: { floor: 2 } }, scope);
    expect((await run.result).stopReason).toBe('stop');
    expect(answers).toEqual([{ action: 'accept', content: { floor: 2, quiet: true } }]);
  });

  it('passes decline and cancel on, and answers each request once: a second answer is a conflict, an unknown one not found', async () => {
    for (const action of ['decline', 'cancel'] as const) {
      const { assistant, answers } = deskAssistant();
      const run = assistant.run({ input: 'Book a desk', userId: 'ann' });
      const { request_id } = await untilInput(run);
      await expect(
        assistant.respondToInput(run.id, request_id, { action }, { userId: 'bob' }),
      ).rejects.toMatchObject({ code: 'not_found' });
      await expect(
        assistant.respondToInput(run.id, 'no-such-request', { action }, { userId: 'ann' }),
      ).rejects.toMatchObject({ code: 'input_not_found' });
      await assistant.respondToInput(run.id, request_id, { action }, { userId: 'ann' });
      await expect(
        assistant.respondToInput(
          run.id,
          request_id,
          { action: 'accept', content: { floor: 1 } },
          { userId: 'ann' },
        ),
      ).rejects.toMatchObject({ code: 'input_conflict' });
      const events = await collect(run);
      expect(answers).toEqual([{ action }]);
      expect(events.find((event) => event.type === 'input_resolved')).toMatchObject({ action });
      // Ended: the stored events answer for it.
      await expect(
        assistant.respondToInput(run.id, request_id, { action: 'cancel' }, { userId: 'ann' }),
      ).rejects.toMatchObject({ code: 'input_conflict' });
    }
  });

  it('answers cancel when nobody answers in inputTimeoutMs, while neither the run’s nor the tool’s timeout ticks', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { tool, answers } = askingTool([deskForm, deskForm]);
    const assistant = new Assistant({
      model: createScriptedModel([{ toolCalls: [{ name: 'book_desk', args: {} }] }, { text: 'Done.' }]),
      tools: [tool],
      limits: { runTimeoutMs: 1_000, toolTimeoutMs: 1_000, inputTimeoutMs: 60_000 },
    });
    const run = assistant.run({ input: 'Book a desk', userId: 'ann' });
    const first = await untilInput(run);
    // Far past the run's and the tool's own timeouts: the user is still deciding.
    await vi.advanceTimersByTimeAsync(59_000);
    await assistant.respondToInput(run.id, first.request_id, { action: 'decline' }, { userId: 'ann' });
    await untilInput(run);
    await vi.advanceTimersByTimeAsync(60_000);
    const result = await run.result;
    expect(answers).toEqual([{ action: 'decline' }, { action: 'cancel' }]);
    expect(result.stopReason).toBe('stop');
    const events = await assistant.getRunEvents(run.id, { userId: 'ann' });
    expect(events.filter((event) => event.type === 'input_resolved').map((event) => event.action)).toEqual([
      'decline',
      'cancel',
    ]);
  });

  it('cancels an open request when the run is stopped, before the run’s final', async () => {
    const { assistant, answers } = deskAssistant();
    const run = assistant.run({ input: 'Book a desk', userId: 'ann' });
    const { request_id } = await untilInput(run);
    await assistant.stop(run.id, { userId: 'ann' });
    const events = await collect(run);
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'aborted' });
    expect(events.find((event) => event.type === 'input_resolved')).toMatchObject({
      request_id,
      action: 'cancel',
    });
    expect(types(events).indexOf('input_resolved')).toBeLessThan(types(events).indexOf('final'));
    expect(answers).toEqual([{ action: 'cancel' }]);
  });

  it('takes an answer given on another instance: checked there, delivered through the coordinator', async () => {
    const { tool, answers } = askingTool();
    const coordinator = createInMemoryCoordinator();
    const a = new Assistant({
      model: createScriptedModel([{ toolCalls: [{ name: 'book_desk', args: {} }] }, { text: 'Done.' }]),
      tools: [tool],
      coordinator,
    });
    const b = new Assistant({ model: createScriptedModel([]), storage: a.storage, coordinator });
    const run = await a.start({ input: 'Book a desk', userId: 'ann' });
    // B sees the request where the user would: the run's stored events.
    const { request_id } = await untilInput(b.streamRun(run.id, { userId: 'ann' }));
    await expect(
      b.respondToInput(run.id, request_id, { action: 'accept', content: { floor: 0 } }, { userId: 'ann' }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(
      b.respondToInput(run.id, 'other', { action: 'cancel' }, { userId: 'ann' }),
    ).rejects.toMatchObject({ code: 'input_not_found' });
    await expect(
      b.respondToInput(run.id, request_id, { action: 'cancel' }, { userId: 'bob' }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await b.respondToInput(
      run.id,
      request_id,
      { action: 'accept', content: { floor: 4 } },
      { userId: 'ann' },
    );
    expect((await run.result).stopReason).toBe('stop');
    expect(answers).toEqual([{ action: 'accept', content: { floor: 4, quiet: true } }]);
    await expect(
      b.respondToInput(run.id, request_id, { action: 'cancel' }, { userId: 'ann' }),
    ).rejects.toMatchObject({ code: 'input_conflict' });
  });

  it('refuses a request it cannot show (a link that is not http(s)): the tool hears invalid_input', async () => {
    const { tool } = askingTool([{ mode: 'url', message: 'Open this', url: 'javascript:alert(1)' }]);
    const assistant = new Assistant({
      model: createScriptedModel([{ toolCalls: [{ name: 'book_desk', args: {} }] }, { text: 'Done.' }]),
      tools: [tool],
    });
    const events = await collect(assistant.run({ input: 'x', userId: 'ann' }));
    expect(types(events)).not.toContain('input_required');
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      error: { code: 'invalid_input', message: expect.stringMatching(/http/) },
    });
  });

  it('asks for a link in url mode and takes an accept without content', async () => {
    const { tool, answers } = askingTool([
      {
        mode: 'url',
        message: 'Connect your calendar',
        url: 'https://auth.example.com/start?x=1',
        server: 'cal',
      },
    ]);
    const assistant = new Assistant({
      model: createScriptedModel([{ toolCalls: [{ name: 'book_desk', args: {} }] }, { text: 'Done.' }]),
      tools: [tool],
    });
    const run = assistant.run({ input: 'x', userId: 'ann' });
    const request = await untilInput(run);
    expect(request).toMatchObject({ mode: 'url', url: 'https://auth.example.com/start?x=1', server: 'cal' });
    expect(request).not.toHaveProperty('requested_schema');
    await expect(
      assistant.respondToInput(
        run.id,
        request.request_id,
        { action: 'accept', content: { a: 'b' } },
        { userId: 'ann' },
      ),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await assistant.respondToInput(run.id, request.request_id, { action: 'accept' }, { userId: 'ann' });
    await run.result;
    expect(answers).toEqual([{ action: 'accept' }]);
  });

  it('withdraws a request when the tool aborts its signal (the server gave up): cancel, and the answer comes too late', async () => {
    const withdraw = new AbortController();
    const answers: InputResponse[] = [];
    const tool = defineTool({
      name: 'book_desk',
      description: 'Books a desk',
      input: z.object({}),
      execute: async (_args, context) => {
        const pending = context.requestInput?.(deskForm, { signal: withdraw.signal });
        answers.push(await (pending as Promise<InputResponse>));
        return 'gave up';
      },
    });
    const assistant = new Assistant({
      model: createScriptedModel([{ toolCalls: [{ name: 'book_desk', args: {} }] }, { text: 'Done.' }]),
      tools: [tool],
    });
    const run = assistant.run({ input: 'x', userId: 'ann' });
    const { request_id } = await untilInput(run);
    withdraw.abort();
    const events = await collect(run);
    expect(answers).toEqual([{ action: 'cancel' }]);
    expect(events.find((event) => event.type === 'input_resolved')).toMatchObject({
      request_id,
      action: 'cancel',
    });
    await expect(
      assistant.respondToInput(run.id, request_id, { action: 'decline' }, { userId: 'ann' }),
    ).rejects.toMatchObject({ code: 'input_conflict' });
  });
});
