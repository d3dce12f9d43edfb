import { Assistant, createAllowAllConsentPolicy, type StewardEvent } from '@steward/core';
import { createScriptedModel } from '@steward/core/testing';
import { type MockMcpServer, startMockMcpServer } from '@steward/testing/mock-mcp';
import { afterEach, describe, expect, it } from 'vitest';
import { createMcpRegistry, type McpRegistry } from './mcp-registry.ts';
import { callContext, mockStdioEntry } from './test-helpers.ts';

let server: MockMcpServer | undefined;
let registry: McpRegistry | undefined;
afterEach(async () => {
  await registry?.close();
  await server?.close();
  registry = undefined;
  server = undefined;
});

async function connect(options: Parameters<typeof startMockMcpServer>[0] = {}, extra: object = {}) {
  server = await startMockMcpServer(options);
  registry = createMcpRegistry({
    servers: [{ name: 'mock', transport: 'streamable-http', url: server.url, ...extra }],
    circuitBreaker: { minimumCalls: 2, failureRate: 0.5, coolDownMs: 200 },
  });
  await registry.ready();
  return { server, registry };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('the registry against fault-injecting MCP servers', () => {
  it('follows nextCursor through every page of tools/list', async () => {
    const { registry } = await connect({ pageSize: 2 });
    const tools = await registry.listTools();
    expect(tools.map((tool) => tool.name)).toEqual([
      'mock__echo',
      'mock__add',
      'mock__slow',
      'mock__fail',
      'mock__big',
      'mock__malformed',
      'mock__crash',
    ]);
  });

  it('re-lists on notifications/tools/list_changed, bumping the catalog version', async () => {
    const { server, registry } = await connect();
    const before = registry.status()[0]?.catalogVersion ?? 0;
    await server.addTool({
      name: 'late',
      description: 'added later',
      inputSchema: { type: 'object', properties: {} },
      handler: () => ({ content: [{ type: 'text', text: 'late' }] }),
    });
    await until(async () => (await registry.listTools()).some((tool) => tool.name === 'mock__late'));
    expect(registry.status()[0]?.catalogVersion).toBeGreaterThan(before);
  });

  it('reports isError results as tool errors, and rejects a reply that breaks the MCP schema', async () => {
    const { registry } = await connect();
    const { context } = callContext();
    await expect(registry.callTool('mock__fail', {}, context)).rejects.toMatchObject({
      code: 'tool_execution_failed',
      message: 'mock/fail: mailbox quota exceeded',
    });
    // The SDK server answers its own bad result with -32602, the code of bad arguments: the
    // model must not be told its arguments were wrong.
    await expect(registry.callTool('mock__malformed', {}, context)).rejects.toMatchObject({
      name: 'StewardError',
      code: 'tool_execution_failed',
      message: "mock/malformed: the server's reply breaks the MCP schema",
    });
  });

  it('rejects structured content that fails the tool’s own output schema as tool_invalid_output', async () => {
    const { server, registry } = await connect();
    await server.addTool({
      name: 'typed',
      description: 'promises a number',
      inputSchema: { type: 'object', properties: {} },
      outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
      handler: () => ({ content: [{ type: 'text', text: 'five' }], structuredContent: { sum: 'five' } }),
    });
    await until(async () => (await registry.listTools()).some((tool) => tool.name === 'mock__typed'));
    await expect(registry.callTool('mock__typed', {}, callContext().context)).rejects.toMatchObject({
      code: 'tool_invalid_output',
    });
  });

  it('checks structuredContent and returns it', async () => {
    const { registry } = await connect();
    const { context } = callContext();
    await expect(registry.callTool('mock__add', { a: 2, b: 3 }, context)).resolves.toEqual({ sum: 5 });
  });

  it('sends notifications/cancelled when a call is aborted, and reports the caller’s reason', async () => {
    const { server, registry } = await connect();
    // Twice: with the breaker's two calls at a half failure rate, counting a stop as the
    // server's failure would open it.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const controller = new AbortController();
      const call = registry.callTool('mock__slow', { ms: 5_000 }, callContext(controller.signal).context);
      await until(() => server.calls.filter((call) => call.name === 'slow').length === attempt);
      controller.abort(new Error('stop'));
      await expect(call).rejects.toMatchObject({
        code: 'run_aborted',
        message: 'mock/slow was aborted: stop',
      });
      await until(() => server.cancelled.filter((name) => name === 'slow').length === attempt);
    }
    expect(registry.status()[0]?.circuit).toBe('closed');
    await expect(
      registry.callTool('mock__echo', { text: 'still here' }, callContext().context),
    ).resolves.toBe('still here');
  });

  it('times out a call, but lets progress reset the clock', async () => {
    const { registry } = await connect({}, { callTimeoutMs: 150 });
    const { context, progress } = callContext();
    await expect(registry.callTool('mock__slow', { ms: 400, steps: 8 }, context)).resolves.toBe('done');
    // The final notification may race the result inside the SDK client; the earlier ones cannot.
    expect(progress.length).toBeGreaterThanOrEqual(7);
    await expect(
      registry.callTool('mock__slow', { ms: 400, steps: 1 }, callContext().context),
    ).rejects.toMatchObject({
      code: 'tool_timeout',
    });
  });

  it('re-initializes an expired session (404) and sends the call once more', async () => {
    const { server, registry } = await connect();
    server.expireSessions();
    await expect(registry.callTool('mock__echo', { text: 'again' }, callContext().context)).resolves.toBe(
      'again',
    );
    expect(server.calls.filter((call) => call.name === 'echo')).toHaveLength(1);
    expect(registry.status()[0]).toMatchObject({ state: 'connected', reconnects: 1 });
  });

  it('opens the circuit after repeated failures and half-opens after the cool-down', async () => {
    const { server, registry } = await connect();
    server.failWith(503);
    const context = callContext().context;
    await expect(registry.callTool('mock__echo', { text: 'a' }, context)).rejects.toMatchObject({
      code: 'tool_unavailable',
    });
    await expect(registry.callTool('mock__echo', { text: 'b' }, context)).rejects.toMatchObject({
      code: 'tool_unavailable',
    });
    expect(registry.status()[0]?.circuit).toBe('open');
    server.failWith(undefined);
    await expect(registry.callTool('mock__echo', { text: 'c' }, context)).rejects.toMatchObject({
      message: expect.stringContaining('circuit breaker is open'),
    });
    await new Promise((resolve) => setTimeout(resolve, 220));
    await expect(registry.callTool('mock__echo', { text: 'd' }, context)).resolves.toBe('d');
    expect(registry.status()[0]?.circuit).toBe('closed');
  });

  it('retries only tools the host trusts as read-only, never one that may have side effects', async () => {
    const { server, registry } = await connect({}, { readOnlyTools: ['echo'] });
    server.failWith(503);
    const posts = () => server.httpRequests.filter((request) => request.method === 'POST').length;
    let before = posts();
    await expect(registry.callTool('mock__slow', { ms: 1 }, callContext().context)).rejects.toMatchObject({
      code: 'tool_unavailable',
    });
    expect(posts() - before).toBe(1);
    before = posts();
    await expect(registry.callTool('mock__echo', { text: 'x' }, callContext().context)).rejects.toMatchObject(
      { code: 'tool_unavailable' },
    );
    expect(posts() - before).toBe(3);
  });

  it('sends the configured headers, e.g. a service token, on every request', async () => {
    const { server, registry } = await connect(
      {},
      { headers: { authorization: 'Bearer service-token', 'x-tenant': 'acme' } },
    );
    await registry.callTool('mock__echo', { text: 'x' }, callContext().context);
    expect(server.httpRequests.length).toBeGreaterThan(1);
    for (const request of server.httpRequests) {
      expect(request.headers).toMatchObject({ authorization: 'Bearer service-token', 'x-tenant': 'acme' });
    }
  });

  it('keeps trying after a failed session re-init, offering no tools meanwhile, and recovers', async () => {
    const { server, registry } = await connect();
    server.expireSessions();
    server.failInitializeWith(503);
    await expect(registry.callTool('mock__echo', { text: 'x' }, callContext().context)).rejects.toMatchObject(
      {
        code: 'tool_unavailable',
      },
    );
    expect(registry.status()[0]?.state).toBe('reconnecting');
    expect(await registry.listTools()).toEqual([]);
    server.failInitializeWith(undefined);
    await until(() => registry.status()[0]?.state === 'connected');
    await expect(registry.callTool('mock__echo', { text: 'back' }, callContext().context)).resolves.toBe(
      'back',
    );
  });

  it('still validates a schema with an $id after the catalog is listed again', async () => {
    const { server, registry } = await connect();
    const withId = {
      name: 'counted',
      description: 'needs a number',
      inputSchema: {
        $id: 'urn:steward:counted',
        type: 'object' as const,
        properties: { n: { type: 'number' } },
        required: ['n'],
      },
      handler: () => ({ content: [{ type: 'text' as const, text: 'ok' }] }),
    };
    await server.addTool(withId);
    await until(async () => (await registry.listTools()).some((tool) => tool.name === 'mock__counted'));
    await expect(
      registry.callTool('mock__counted', { n: 'one' }, callContext().context),
    ).rejects.toMatchObject({
      code: 'tool_invalid_arguments',
    });
    await server.addTool({ ...withId, name: 'another' });
    await until(async () => (await registry.listTools()).some((tool) => tool.name === 'mock__another'));
    await expect(
      registry.callTool('mock__counted', { n: 'one' }, callContext().context),
    ).rejects.toMatchObject({
      code: 'tool_invalid_arguments',
    });
  });

  it('restarts a crashed stdio server with backoff', async () => {
    registry = createMcpRegistry({
      servers: [{ name: 'local', transport: 'stdio', command: process.execPath, args: [mockStdioEntry] }],
    });
    await registry.ready();
    await expect(registry.callTool('local__crash', {}, callContext().context)).rejects.toMatchObject({
      code: 'tool_unavailable',
    });
    await until(() => registry?.status()[0]?.state === 'connected' && registry.status()[0]?.reconnects === 1);
    await expect(registry.callTool('local__echo', { text: 'back' }, callContext().context)).resolves.toBe(
      'back',
    );
  });

  it('does not fail runs that do not need a server that is down', async () => {
    registry = createMcpRegistry({
      servers: [{ name: 'down', transport: 'streamable-http', url: 'http://127.0.0.1:9/mcp' }],
    });
    const model = createScriptedModel([{ text: 'I can still answer.' }]);
    const result = await new Assistant({ model, tools: [registry] }).run({ input: 'hi', userId: 'u' }).result;
    expect(result).toMatchObject({ stopReason: 'stop', text: 'I can still answer.' });
    expect(registry.status()[0]?.state).not.toBe('connected');
    expect(model.requests[0]?.tools).toEqual([]);
  });

  it('serves an Assistant run end to end, with progress events', async () => {
    const { server, registry } = await connect();
    const model = createScriptedModel([
      { toolCalls: [{ name: 'mock__slow', arguments: { ms: 30, steps: 3 }, callId: 'c1' }] },
      { text: 'All done.' },
    ]);
    const assistant = new Assistant({ model, tools: [registry], consent: createAllowAllConsentPolicy() });
    const events: StewardEvent[] = [];
    for await (const event of assistant.run({ input: 'go', userId: 'u' })) events.push(event);
    const kinds = events.map((event) => event.type).filter((type) => type !== 'token' && type !== 'usage');
    expect(kinds[0]).toBe('run_started');
    expect(kinds.slice(1, 3)).toEqual(['tool_request', 'tool_progress']);
    expect(kinds.slice(-2)).toEqual(['tool_result', 'final']);
    expect(kinds.filter((kind) => kind === 'tool_progress').length).toBeGreaterThanOrEqual(2);
    expect(server.calls).toEqual([{ name: 'slow', args: { ms: 30, steps: 3 } }]);
  });
});
