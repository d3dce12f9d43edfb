import { fileURLToPath } from 'node:url';
import {
  Assistant,
  type AssistantLimits,
  createAllowAllConsentPolicy,
  type InputRequiredEvent,
  type StewardError,
  type StewardEvent,
  type ToolResultEvent,
} from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startElicitHttp } from './__fixtures__/elicit-server.ts';
import { createMcpRegistry, type McpRegistry } from './mcp-registry.ts';
import type { McpServerConfig } from './server-config.ts';
import { callContext, everythingEntry, startEverythingHttp } from './test-helpers.ts';

const elicitEntry = fileURLToPath(new URL('./__fixtures__/elicit-server.ts', import.meta.url));

/** A run of `userId` whose model calls `tool` once, then answers. */
function runTool(registry: McpRegistry, tool: string, userId = 'ann', limits: Partial<AssistantLimits> = {}) {
  const assistant = new Assistant({
    model: createScriptedModel([{ toolCalls: [{ name: tool, arguments: {} }] }, { text: 'ok' }]),
    tools: [registry],
    consent: createAllowAllConsentPolicy(),
    limits,
  });
  return { assistant, run: assistant.run({ input: 'go', userId }) };
}

/** Reads the run until it asks for input; fails if it ends first (the request was declined). */
async function untilInput(events: AsyncIterable<StewardEvent>): Promise<InputRequiredEvent> {
  for await (const event of events) if (event.type === 'input_required') return event;
  throw new Error('the run ended without asking for input');
}

async function toolResult(events: AsyncIterable<StewardEvent>): Promise<ToolResultEvent> {
  for await (const event of events) if (event.type === 'tool_result') return event;
  throw new Error('no tool_result');
}

/** What the test server's tool got back from the client, as it reports it. */
const answerOf = (result: ToolResultEvent) => JSON.parse(String(result.result));

let everythingHttp: Awaited<ReturnType<typeof startEverythingHttp>>;
beforeAll(async () => {
  everythingHttp = await startEverythingHttp();
});
afterAll(() => everythingHttp.stop());

const everything: [string, () => McpServerConfig][] = [
  [
    'stdio',
    () => ({
      name: 'everything',
      transport: 'stdio',
      command: process.execPath,
      args: [everythingEntry, 'stdio'],
    }),
  ],
  ['streamable-http', () => ({ name: 'everything', transport: 'streamable-http', url: everythingHttp.url })],
];

describe.each(everything)('elicitation from server-everything over %s', (_transport, config) => {
  let registry: McpRegistry;
  beforeAll(async () => {
    registry = createMcpRegistry({ servers: [config()] });
    await registry.ready();
  });
  afterAll(() => registry.close());
  const tool = 'everything__trigger-elicitation-request';

  it('shows its form, refuses an answer that breaks it, and sends the corrected one with the defaults filled in', async () => {
    const { assistant, run } = runTool(registry, tool);
    const request = await untilInput(run);
    expect(request).toMatchObject({
      server: 'everything',
      tool_slug: tool,
      mode: 'form',
      message: 'Please provide inputs for the following fields:',
      requested_schema: {
        type: 'object',
        required: ['name'],
        properties: expect.objectContaining({
          integer: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 100, default: 42 }),
          titledMultipleSelectEnum: expect.objectContaining({ type: 'array' }),
        }),
      },
    });
    const scope = { userId: 'ann' };
    const refused = await assistant
      .respondToInput(run.id, request.request_id, { action: 'accept', content: { integer: 500 } }, scope)
      .catch((error: StewardError) => error);
    expect(refused).toMatchObject({ code: 'invalid_input' });
    expect((refused as StewardError).details.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'content.integer' }),
        expect.objectContaining({ path: 'content.name' }),
      ]),
    );
    await assistant.respondToInput(
      run.id,
      request.request_id,
      { action: 'accept', content: { name: 'Ann Example', email: 'ann@example.com' } },
      scope,
    );
    const text = String((await toolResult(run)).result);
    expect(text).toContain('User provided the requested information');
    const raw = JSON.parse(text.slice(text.indexOf('Raw result: ') + 'Raw result: '.length));
    expect(raw).toEqual({
      action: 'accept',
      content: {
        name: 'Ann Example',
        email: 'ann@example.com',
        firstLine: 'It was a dark and stormy night.',
        integer: 42,
        number: 3.14,
        untitledSingleSelectEnum: 'Monica',
        untitledMultipleSelectEnum: ['Guitar'],
        titledSingleSelectEnum: 'hero-1',
        titledMultipleSelectEnum: ['fish-1'],
        legacyTitledEnum: 'pet-1',
      },
    });
    expect((await run.result).stopReason).toBe('stop');
  });

  it.each([
    ['decline', 'User declined'],
    ['cancel', 'User cancelled'],
  ] as const)('passes %s on to the server', async (action, said) => {
    const { assistant, run } = runTool(registry, tool);
    const { request_id } = await untilInput(run);
    await assistant.respondToInput(run.id, request_id, { action }, { userId: 'ann' });
    expect(String((await toolResult(run)).result)).toContain(said);
  });

  it('answers cancel when nobody answers within inputTimeoutMs', async () => {
    const { run } = runTool(registry, tool, 'ann', { inputTimeoutMs: 50 });
    await untilInput(run);
    const result = await toolResult(run);
    expect(String(result.result)).toContain('User cancelled');
    expect((await run.result).stopReason).toBe('stop');
  });
});

const elicitTools = (config: McpServerConfig): McpServerConfig => ({ ...config, name: 'elicit' });

describe('a server built on the SDK that elicits, over Streamable HTTP', () => {
  let server: Awaited<ReturnType<typeof startElicitHttp>>;
  let registry: McpRegistry;
  beforeAll(async () => {
    server = await startElicitHttp();
    registry = createMcpRegistry({
      servers: [elicitTools({ name: 'elicit', transport: 'streamable-http', url: server.url })],
    });
    await registry.ready();
  });
  afterAll(async () => {
    await registry.close();
    await server.close();
  });

  it('asks each user about their own call when two users’ calls elicit at once on one connection', async () => {
    const ann = runTool(registry, 'elicit__ask_floor', 'ann');
    const bob = runTool(registry, 'elicit__ask_floor', 'bob');
    const [annRequest, bobRequest] = await Promise.all([untilInput(ann.run), untilInput(bob.run)]);
    await bob.assistant.respondToInput(
      bob.run.id,
      bobRequest.request_id,
      { action: 'accept', content: { floor: 7 } },
      { userId: 'bob' },
    );
    await ann.assistant.respondToInput(
      ann.run.id,
      annRequest.request_id,
      { action: 'accept', content: { floor: 3, note: 'window' } },
      { userId: 'ann' },
    );
    expect(answerOf(await toolResult(ann.run))).toEqual({
      action: 'accept',
      content: { floor: 3, quiet: true, note: 'window' },
    });
    expect(answerOf(await toolResult(bob.run))).toEqual({
      action: 'accept',
      content: { floor: 7, quiet: true },
    });
  });

  it('asks for a link in url mode, and accepts without content', async () => {
    const { assistant, run } = runTool(registry, 'elicit__open_link');
    const request = await untilInput(run);
    expect(request).toMatchObject({
      mode: 'url',
      url: 'https://auth.example.com/connect?state=abc',
      message: 'Connect your calendar',
    });
    await assistant.respondToInput(run.id, request.request_id, { action: 'accept' }, { userId: 'ann' });
    expect(answerOf(await toolResult(run))).toEqual({ action: 'accept' });
  });

  it('withdraws the request when the server gives up on it: cancel, and a late answer is a conflict', async () => {
    const { assistant, run } = runTool(registry, 'elicit__ask_briefly');
    const { request_id } = await untilInput(run);
    // Every iteration of a run starts at its first event.
    const events: StewardEvent[] = [];
    for await (const event of run) events.push(event);
    expect(events.find((event) => event.type === 'input_resolved')).toMatchObject({
      request_id,
      action: 'cancel',
    });
    expect(answerOf(events.find((event) => event.type === 'tool_result') as ToolResultEvent)).toEqual({
      gaveUp: expect.stringMatching(/timed out/i),
    });
    await expect(
      assistant.respondToInput(run.id, request_id, { action: 'accept', content: {} }, { userId: 'ann' }),
    ).rejects.toMatchObject({ code: 'input_conflict' });
  });

  it('carries the tool’s title and hints, its structured content and its resource links to the events', async () => {
    const { run } = runTool(registry, 'elicit__list_files');
    const events: StewardEvent[] = [];
    for await (const event of run) events.push(event);
    expect(events.find((event) => event.type === 'tool_request')).toMatchObject({
      tool_title: 'List files',
      annotations: { readOnlyHint: true },
    });
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      result: { count: 2 },
      resource_links: [
        { uri: 'file:///a.txt', name: 'a.txt', mime_type: 'text/plain' },
        { uri: 'file:///b.txt', name: 'b.txt', title: 'B' },
      ],
    });
  });
});

describe('a server built on the SDK that elicits, over stdio', () => {
  const warnings: StewardError[] = [];
  let registry: McpRegistry;
  beforeAll(async () => {
    registry = createMcpRegistry({
      servers: [
        elicitTools({
          name: 'elicit',
          transport: 'stdio',
          command: process.execPath,
          args: [elicitEntry, 'stdio'],
          callTimeoutMs: 200,
        }),
      ],
      onWarning: (warning) => warnings.push(warning),
    });
    await registry.ready();
  });
  afterAll(() => registry.close());
  afterEach(() => {
    vi.useRealTimers();
    warnings.length = 0;
  });

  it('declines when several calls are in flight and nothing says which one asks', async () => {
    const ann = runTool(registry, 'elicit__ask_floor', 'ann');
    const annRequest = await untilInput(ann.run);
    // Bob's call asks while Ann's still waits: stdio says nothing about whose request it is.
    const bob = runTool(registry, 'elicit__ask_floor', 'bob');
    expect(answerOf(await toolResult(bob.run))).toEqual({ action: 'decline' });
    expect(warnings.map((warning) => warning.message)).toEqual([
      expect.stringMatching(/several tool calls are in flight/),
    ]);
    await ann.assistant.respondToInput(
      ann.run.id,
      annRequest.request_id,
      { action: 'accept', content: { floor: 2 } },
      { userId: 'ann' },
    );
    expect(answerOf(await toolResult(ann.run))).toEqual({
      action: 'accept',
      content: { floor: 2, quiet: true },
    });
  });

  it('declines a request that arrives outside any call, and one of a call made outside a run', async () => {
    const { context } = callContext();
    await registry.callTool('elicit__ask_later', {}, context);
    await vi.waitFor(() =>
      expect(warnings.map((warning) => warning.message)).toContain(
        'elicit: declined an elicitation that arrived outside any tool call of a run',
      ),
    );
    expect(JSON.parse(String(await registry.callTool('elicit__late_answer', {}, context)))).toEqual({
      action: 'decline',
    });
    expect(JSON.parse(String(await registry.callTool('elicit__ask_floor', {}, context)))).toEqual({
      action: 'decline',
    });
    expect(warnings.at(-1)?.message).toMatch(/outside a run/);
  });

  it('fills in the form’s defaults and checks the answer itself, whoever supplied the call context', async () => {
    const answers: unknown[] = [{ floor: 2 }, { floor: 12 }];
    const { context } = callContext();
    const asking = {
      ...context,
      requestInput: async () => ({ action: 'accept' as const, content: answers.shift() as never }),
    };
    expect(JSON.parse(String(await registry.callTool('elicit__ask_floor', {}, asking)))).toEqual({
      action: 'accept',
      content: { floor: 2, quiet: true },
    });
    expect(JSON.parse(String(await registry.callTool('elicit__ask_floor', {}, asking)))).toEqual({
      action: 'cancel',
    });
    expect(warnings.at(-1)?.message).toMatch(/does not fit its form \(\/floor must be <= 9\)/);
  });

  it('stops the call’s timeouts (the MCP call’s, the tool’s and the run’s) while the user answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    const { assistant, run } = runTool(registry, 'elicit__ask_floor', 'ann', {
      toolTimeoutMs: 200,
      runTimeoutMs: 400,
    });
    const { request_id } = await untilInput(run);
    // Ten times every timeout: the call must still be open.
    await vi.advanceTimersByTimeAsync(4_000);
    await assistant.respondToInput(
      run.id,
      request_id,
      { action: 'accept', content: { floor: 5 } },
      { userId: 'ann' },
    );
    expect(answerOf(await toolResult(run))).toEqual({ action: 'accept', content: { floor: 5, quiet: true } });
    expect((await run.result).stopReason).toBe('stop');
  });
});
