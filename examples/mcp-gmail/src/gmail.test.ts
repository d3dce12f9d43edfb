import {
  Assistant,
  createAllowAllConsentPolicy,
  createInMemoryStorage,
  type StewardEvent,
  type ToolCallContext,
} from '@steward/core';
import { createOpenAIModel } from '@steward/core/openai';
import { createHttpToolProvider, createMcpRegistry, type McpRegistry } from '@steward/mcp';
import { type MockOpenAIServer, startMockOpenAI } from '@steward/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGmailServer } from './app.ts';
import { Mailbox } from './mailbox.ts';

type Gmail = Awaited<ReturnType<typeof startGmailServer>>;
let gmail: Gmail;
beforeAll(async () => {
  gmail = await startGmailServer();
});
afterAll(() => gmail.stop());

const context = (callId = 'c1', signal = new AbortController().signal): ToolCallContext => ({
  signal,
  runId: 'r1',
  sessionId: 's1',
  userId: 'u1',
  callId,
  reportProgress: () => {},
});

interface FetchResult {
  messages: { messageId: string; subject: string; payload?: unknown }[];
  nextPageToken?: string;
  resultSizeEstimate: number;
}

describe('the fixture mailbox', () => {
  it('pages through all 201 of alice’s messages, newest first', () => {
    const mailbox = new Mailbox();
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = mailbox.fetch({
        user_id: 'me',
        max_results: 100,
        ...(token === undefined ? {} : { page_token: token }),
      });
      expect(page.resultSizeEstimate).toBe(201);
      seen.push(...page.messages.map((message) => message.messageId));
      token = page.nextPageToken;
    } while (token !== undefined);
    expect(seen).toHaveLength(201);
    expect(new Set(seen).size).toBe(201);
    const first = mailbox.fetch({ user_id: 'me', max_results: 2 }).messages;
    expect(Date.parse(first[0]?.messageTimestamp ?? '')).toBeGreaterThan(
      Date.parse(first[1]?.messageTimestamp ?? ''),
    );
  });

  it('is the same on every start, and filters by labels and query', () => {
    expect(new Mailbox().fetch({ user_id: 'me' })).toEqual(new Mailbox().fetch({ user_id: 'me' }));
    const mailbox = new Mailbox();
    const unread = mailbox.fetch({
      user_id: 'alice@example.com',
      label_ids: ['INBOX', 'UNREAD'],
      max_results: 100,
    });
    expect(unread.resultSizeEstimate).toBeGreaterThan(0);
    expect(unread.resultSizeEstimate).toBeLessThan(201);
    const invoices = mailbox.fetch({ user_id: 'me', query: 'invoice', max_results: 100 });
    expect(
      invoices.messages.every((message) => /invoice/i.test(`${message.subject} ${message.snippet}`)),
    ).toBe(true);
    expect(mailbox.fetch({ user_id: 'bob@example.com' }).resultSizeEstimate).toBe(37);
  });
});

describe('MCP over Streamable HTTP and stdio', () => {
  const registries: McpRegistry[] = [];
  afterAll(() => Promise.all(registries.map((registry) => registry.close())));

  it.each(['streamable-http', 'stdio'] as const)(
    'serves GMAIL_FETCH_EMAILS with the seed’s output shape over %s',
    async (transport) => {
      const registry = createMcpRegistry({
        servers: [
          transport === 'stdio'
            ? {
                name: 'gmail',
                transport,
                command: process.execPath,
                args: [new URL('./stdio.ts', import.meta.url).pathname],
              }
            : { name: 'gmail', transport, url: gmail.mcpUrl },
        ],
      });
      registries.push(registry);
      await registry.ready();
      const tools = await registry.listTools();
      expect(tools.map((tool) => tool.name)).toEqual([
        'gmail__GMAIL_FETCH_EMAILS',
        'gmail__GMAIL_SEND_EMAIL',
      ]);
      expect(tools[0]?.inputSchema).toMatchObject({
        required: ['user_id'],
        properties: { max_results: { minimum: 1, maximum: 100 } },
      });
      const result = (await registry.callTool(
        'gmail__GMAIL_FETCH_EMAILS',
        { user_id: 'me', max_results: 5, include_payload: true },
        context(),
      )) as FetchResult;
      expect(result.messages).toHaveLength(5);
      expect(result.resultSizeEstimate).toBe(201);
      expect(result.nextPageToken).toEqual(expect.any(String));
      expect(Object.keys(result.messages[0] ?? {}).sort()).toEqual(
        [
          'labelIds',
          'messageId',
          'messageTimestamp',
          'payload',
          'sender',
          'snippet',
          'subject',
          'threadId',
        ].sort(),
      );
      await expect(
        registry.callTool('gmail__GMAIL_FETCH_EMAILS', { max_results: 500 }, context()),
      ).rejects.toMatchObject({
        code: 'tool_invalid_arguments',
      });
    },
  );
});

describe('the plain-HTTP contract', () => {
  it('discovers allowed tools with their JSON Schemas at both addresses', async () => {
    for (const path of ['/mcp/discover', '/.well-known/mcp']) {
      const document = await (await fetch(`${gmail.url}${path}`)).json();
      expect(document.allowed_tools).toEqual(['GMAIL_FETCH_EMAILS', 'GMAIL_SEND_EMAIL']);
      expect(document.tools[0].input_schema.required).toEqual(['user_id']);
    }
  });

  it('answers the multi-execute envelope, and 400 with every schema error', async () => {
    const post = (body: unknown) =>
      fetch(`${gmail.url}/mcp/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post({
      tools: [{ tool_slug: 'GMAIL_FETCH_EMAILS', arguments: { user_id: 'me', max_results: 3 } }],
      sync_response_to_workbench: false,
      thought: 'Fetch latest 3 emails',
      current_step: 'FETCHING_EMAILS',
    });
    const body = await ok.json();
    expect(ok.status).toBe(200);
    expect(body).toMatchObject({ requestId: expect.any(String), successful: true, error: null });
    expect(body.data.results[0]).toMatchObject({
      tool_slug: 'GMAIL_FETCH_EMAILS',
      response: { resultSizeEstimate: 201 },
    });

    const bad = await post({
      tools: [{ tool_slug: 'GMAIL_FETCH_EMAILS', arguments: { max_results: 0, label_ids: 'INBOX' } }],
    });
    expect(bad.status).toBe(400);
    const errors = (await bad.json()).error.details[0].errors.map((error: { path: string }) => error.path);
    expect(errors).toEqual(expect.arrayContaining(['/', '/max_results', '/label_ids']));

    const broken = await fetch(`${gmail.url}/mcp/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"tools": [',
    });
    expect(broken.status).toBe(400);
    expect(await post({ tools: [] }).then((response) => response.status)).toBe(400);
  });

  it('sends an email exactly once for a repeated requestId, and refuses a reused id for other arguments', async () => {
    const before = gmail.mailbox.sent.length;
    const envelope = {
      tools: [
        {
          tool_slug: 'GMAIL_SEND_EMAIL',
          arguments: { user_id: 'me', to: 'bob@example.com', subject: 'Hi', body: 'Lunch?' },
        },
      ],
      requestId: 'req-once',
    };
    const send = (body: unknown) =>
      fetch(`${gmail.url}/mcp/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const [first, second] = await Promise.all([send(envelope), send(envelope)]);
    expect(await first.json()).toEqual(await second.json());
    expect(gmail.mailbox.sent.length - before).toBe(1);
    const conflict = await send({
      ...envelope,
      tools: [{ ...envelope.tools[0], arguments: { ...envelope.tools[0]?.arguments, subject: 'Other' } }],
    });
    expect(conflict.status).toBe(409);
    expect(gmail.mailbox.sent.length - before).toBe(1);
  });

  it('is a ToolProvider through createHttpToolProvider, validating before it sends', async () => {
    const provider = createHttpToolProvider({
      name: 'gmail',
      url: gmail.url,
      readOnlyTools: ['GMAIL_FETCH_EMAILS'],
    });
    const tools = await provider.listTools();
    expect(tools.map((tool) => [tool.name, tool.sideEffect])).toEqual([
      ['gmail__GMAIL_FETCH_EMAILS', false],
      ['gmail__GMAIL_SEND_EMAIL', true],
    ]);
    const result = (await provider.callTool(
      'gmail__GMAIL_FETCH_EMAILS',
      { user_id: 'me', max_results: 1 },
      context(),
    )) as FetchResult;
    expect(result.messages).toHaveLength(1);
    await expect(
      provider.callTool('gmail__GMAIL_FETCH_EMAILS', { user_id: 1 }, context()),
    ).rejects.toMatchObject({
      code: 'tool_invalid_arguments',
    });
    const before = gmail.mailbox.sent.length;
    const args = { user_id: 'me', to: 'carol@example.com', subject: 'Report', body: 'Attached.' };
    await provider.callTool('gmail__GMAIL_SEND_EMAIL', args, context('send-1'));
    await provider.callTool('gmail__GMAIL_SEND_EMAIL', args, context('send-1'));
    expect(gmail.mailbox.sent.length - before).toBe(1);
  });

  it('closes sessions left idle, and a client simply starts a new one', async () => {
    // An injected clock and an explicit sweep, so the test never races the periodic one.
    let now = Date.parse('2026-11-20T09:00:00Z');
    const idleMs = 30 * 60_000;
    const idle = await startGmailServer({ sessionIdleMs: idleMs, _internal: { now: () => now } });
    const registry = createMcpRegistry({
      servers: [{ name: 'gmail', transport: 'streamable-http', url: idle.mcpUrl }],
    });
    const sessions = async () => (await (await fetch(`${idle.url}/healthz`)).json()).sessions;
    try {
      await registry.ready();
      expect(await sessions()).toBe(1);
      now += idleMs - 1;
      expect(idle.sweepIdleSessions()).toBe(0);
      now += 1;
      expect(idle.sweepIdleSessions()).toBe(1);
      expect(await sessions()).toBe(0);
      const result = (await registry.callTool(
        'gmail__GMAIL_FETCH_EMAILS',
        { user_id: 'me', max_results: 1 },
        context(),
      )) as FetchResult;
      expect(result.messages).toHaveLength(1);
      expect(await sessions()).toBe(1);
    } finally {
      await registry.close();
      await idle.stop();
    }
  });

  it('refuses MCP requests that are neither initialize nor in a session', async () => {
    const response = await fetch(gmail.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(400);
  });

  it('serves health and Prometheus metrics', async () => {
    expect(await (await fetch(`${gmail.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
    const metrics = await (await fetch(`${gmail.url}/metrics`)).text();
    expect(metrics).toMatch(/gmail_mock_emails_sent \d+/);
    expect(metrics).toContain('gmail_mock_tool_calls_total{tool="GMAIL_FETCH_EMAILS"');
  });
});

describe('an end-to-end run', () => {
  let openai: MockOpenAIServer;
  beforeAll(async () => {
    openai = await startMockOpenAI();
  });
  afterAll(() => openai.close());

  it('the model asks for GMAIL_FETCH_EMAILS, the registry calls Gmail, the model answers from the result', async () => {
    const registry = createMcpRegistry({
      servers: [
        {
          name: 'gmail',
          transport: 'streamable-http',
          url: gmail.mcpUrl,
          readOnlyTools: ['GMAIL_FETCH_EMAILS'],
        },
      ],
    });
    openai.enqueue(
      {
        toolCalls: [
          {
            name: 'gmail__GMAIL_FETCH_EMAILS',
            arguments: { user_id: 'me', max_results: 3, label_ids: ['INBOX'] },
          },
        ],
      },
      { text: 'Your three newest emails are here.' },
    );
    const sentBefore = gmail.mailbox.sent.length;
    const assistant = new Assistant({
      model: createOpenAIModel({ model: 'gpt-test', baseURL: openai.baseURL, apiKey: 'test' }),
      tools: [registry],
    });
    const events: StewardEvent[] = [];
    for await (const event of assistant.run({ input: 'Show my latest emails', userId: 'alice' }))
      events.push(event);
    await registry.close();
    expect(events.map((event) => event.type).filter((type) => type !== 'token')).toEqual([
      'run_started',
      'usage',
      'tool_request',
      'tool_result',
      'usage',
      'final',
    ]);
    expect(events.find((event) => event.type === 'tool_request')).toMatchObject({
      tool_slug: 'gmail__GMAIL_FETCH_EMAILS',
      require_confirmation: false,
    });
    const result = events.find((event) => event.type === 'tool_result');
    expect(result).toMatchObject({ result: { resultSizeEstimate: expect.any(Number) } });
    const toolMessage = (
      openai.requests[1]?.body.messages as { role: string; content: string }[] | undefined
    )?.at(-1);
    expect(JSON.parse(toolMessage?.content ?? '{}').messages).toHaveLength(3);
    expect(gmail.mailbox.sent.length).toBe(sentBefore);
  });

  it.each([
    ['denied', 0],
    ['approved', 1],
  ] as const)('asks before GMAIL_SEND_EMAIL and sends %s: %i email(s)', async (decision, sends) => {
    const registry = createMcpRegistry({
      servers: [{ name: 'gmail', transport: 'streamable-http', url: gmail.mcpUrl }],
    });
    openai.enqueue(
      {
        toolCalls: [
          {
            name: 'gmail__GMAIL_SEND_EMAIL',
            arguments: { user_id: 'me', to: 'bob@example.com', subject: 'x', body: 'y' },
          },
        ],
      },
      { text: decision === 'approved' ? 'Sent.' : 'I did not send it.' },
    );
    const sentBefore = gmail.mailbox.sent.length;
    const assistant = new Assistant({
      model: createOpenAIModel({ model: 'm', baseURL: openai.baseURL, apiKey: 'k' }),
      tools: [registry],
    });
    const run = assistant.run({ input: 'Email bob', userId: 'alice' });
    const events: StewardEvent[] = [];
    for await (const event of run) {
      events.push(event);
      if (event.type === 'approval_required') {
        expect(gmail.mailbox.sent.length).toBe(sentBefore);
        if (decision === 'approved') await assistant.approve(event.call_id, { userId: 'alice' });
        else await assistant.deny(event.call_id, { userId: 'alice', reason: 'not now' });
      }
    }
    await registry.close();
    expect(events.find((event) => event.type === 'tool_request')).toMatchObject({
      require_confirmation: true,
    });
    expect(events.find((event) => event.type === 'approval_resolved')).toMatchObject({
      decision,
      decided_by: 'alice',
    });
    expect(events.at(-1)).toMatchObject({ type: 'final', stop_reason: 'stop' });
    expect(gmail.mailbox.sent.length - sentBefore).toBe(sends);
  });

  it('resumes a run paused for approval on a new instance after a restart, sending exactly once', async () => {
    const storage = createInMemoryStorage();
    const connect = () =>
      createMcpRegistry({ servers: [{ name: 'gmail', transport: 'streamable-http', url: gmail.mcpUrl }] });
    const firstRegistry = connect();
    openai.enqueue({
      toolCalls: [
        {
          name: 'gmail__GMAIL_SEND_EMAIL',
          arguments: { user_id: 'me', to: 'bob@example.com', subject: 'Q3', body: 'Numbers attached.' },
        },
      ],
    });
    const model = createOpenAIModel({ model: 'm', baseURL: openai.baseURL, apiKey: 'k' });
    const first = new Assistant({
      model,
      tools: [firstRegistry],
      storage,
      limits: { approvalPollMs: 60_000 },
    });
    const sentBefore = gmail.mailbox.sent.length;
    const run = first.run({ input: 'Send bob the Q3 numbers', userId: 'alice' });
    let callId = '';
    for await (const event of run) {
      if (event.type === 'approval_required') {
        callId = event.call_id;
        break;
      }
    }
    await expect
      .poll(async () => (await storage.getRun(run.id, { userId: 'alice' }))?.status)
      .toBe('awaiting_approval');
    await firstRegistry.close(); // the first instance is gone

    const secondRegistry = connect();
    openai.enqueue({ text: 'Sent to Bob.' });
    const second = new Assistant({ model, tools: [secondRegistry], storage });
    const { run: resumed } = await second.approve(callId, { userId: 'alice' });
    const events: StewardEvent[] = [];
    for await (const event of resumed ?? []) events.push(event);
    await secondRegistry.close();
    expect(events.find((event) => event.type === 'tool_result')).toMatchObject({
      result: { labelIds: ['SENT'] },
    });
    expect(events.at(-1)).toMatchObject({ type: 'final', text: 'Sent to Bob.' });
    expect(gmail.mailbox.sent.length - sentBefore).toBe(1);
    await expect(second.approve(callId, { userId: 'alice' })).rejects.toMatchObject({
      code: 'approval_conflict',
    });
    expect(gmail.mailbox.sent.length - sentBefore).toBe(1);
    run.abort();
    expect((await run.result).stopReason).toBe('handed_off');
  });

  it('sends exactly one email when the host allows side effects', async () => {
    const registry = createMcpRegistry({
      servers: [{ name: 'gmail', transport: 'streamable-http', url: gmail.mcpUrl }],
    });
    openai.enqueue(
      {
        toolCalls: [
          {
            name: 'gmail__GMAIL_SEND_EMAIL',
            arguments: { user_id: 'me', to: 'bob@example.com', subject: 'x', body: 'y' },
          },
        ],
      },
      { text: 'Sent.' },
    );
    const sentBefore = gmail.mailbox.sent.length;
    const assistant = new Assistant({
      model: createOpenAIModel({ model: 'm', baseURL: openai.baseURL, apiKey: 'k' }),
      tools: [registry],
      consent: createAllowAllConsentPolicy(),
    });
    await assistant.run({ input: 'Email bob', userId: 'alice' }).result;
    await registry.close();
    expect(gmail.mailbox.sent.length - sentBefore).toBe(1);
  });
});
