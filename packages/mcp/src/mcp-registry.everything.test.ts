import { isToolOutput } from '@steward/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpRegistry, type McpRegistry } from './mcp-registry.ts';
import type { McpServerConfig } from './server-config.ts';
import { callContext, everythingEntry, startEverythingHttp } from './test-helpers.ts';

// Contract tests against the reference server of the MCP project, over both transports.
let http: Awaited<ReturnType<typeof startEverythingHttp>>;
beforeAll(async () => {
  http = await startEverythingHttp();
});
afterAll(() => http.stop());

const transports: [string, () => McpServerConfig][] = [
  [
    'stdio',
    () => ({
      name: 'everything',
      transport: 'stdio',
      command: process.execPath,
      args: [everythingEntry, 'stdio'],
    }),
  ],
  ['streamable-http', () => ({ name: 'everything', transport: 'streamable-http', url: http.url })],
];

describe.each(transports)('server-everything over %s', (transport, config) => {
  let registry: McpRegistry;
  beforeAll(async () => {
    registry = createMcpRegistry({ servers: [{ ...config(), readOnlyTools: ['echo'] }] });
    await registry.ready();
  });
  afterAll(() => registry.close());

  it('connects and lists its tools under the server prefix, with annotations', async () => {
    expect(registry.status()).toMatchObject([{ name: 'everything', state: 'connected', transport }]);
    const tools = await registry.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'everything__echo',
        'everything__get-sum',
        'everything__get-structured-content',
      ]),
    );
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    const sum = tools.find((tool) => tool.name === 'everything__get-sum');
    expect(sum?.annotations).toMatchObject({ readOnlyHint: true });
    // Hints are not trusted: only the host's readOnlyTools list makes a tool consent-free.
    expect(sum?.sideEffect).toBe(true);
    expect(tools.find((tool) => tool.name === 'everything__echo')?.sideEffect).toBe(false);
  });

  it('calls a tool and returns its text', async () => {
    const { context } = callContext();
    await expect(registry.callTool('everything__echo', { message: 'hi there' }, context)).resolves.toBe(
      'Echo: hi there',
    );
  });

  it('returns structuredContent, checked against the output schema', async () => {
    const { context } = callContext();
    const result = await registry.callTool(
      'everything__get-structured-content',
      { location: 'Chicago' },
      context,
    );
    expect(result).toMatchObject({
      temperature: expect.any(Number),
      conditions: expect.any(String),
      humidity: expect.any(Number),
    });
  });

  it('rejects arguments that break the schema before calling, with every error', async () => {
    const { context } = callContext();
    const failure = registry.callTool('everything__get-sum', { a: 'one' }, context);
    await expect(failure).rejects.toMatchObject({ code: 'tool_invalid_arguments' });
    const error: unknown = await failure.catch((caught: unknown) => caught);
    expect((error as { details: { errors: unknown[] } }).details.errors.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps resource links for the model, and hands them over apart for UIs', async () => {
    const { context } = callContext();
    const result = await registry.callTool('everything__get-resource-links', { count: 2 }, context);
    if (!isToolOutput(result)) throw new Error('expected a ToolOutput');
    const blocks = result.value as { type: string }[];
    expect(blocks.filter((block) => block.type === 'resource_link')).toHaveLength(2);
    expect(result.resourceLinks).toEqual([
      expect.objectContaining({ uri: expect.stringMatching(/^demo:\/\//), name: expect.any(String) }),
      expect.objectContaining({ uri: expect.stringMatching(/^demo:\/\//), name: expect.any(String) }),
    ]);
  });

  it('turns progress notifications into progress reports', async () => {
    const { context, progress } = callContext();
    await registry.callTool(
      'everything__trigger-long-running-operation',
      { duration: 0.3, steps: 3 },
      context,
    );
    // The last notification races the result inside the SDK client (notifications are handled a
    // microtask later than responses), so only the ones sent well before the result are certain.
    expect(progress.slice(0, 2)).toEqual([
      { progress: 1, total: 3 },
      { progress: 2, total: 3 },
    ]);
  });

  it('stops waiting as soon as the call is aborted', async () => {
    const controller = new AbortController();
    const { context } = callContext(controller.signal);
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('user stopped')), 100);
    await expect(
      registry.callTool('everything__trigger-long-running-operation', { duration: 10, steps: 10 }, context),
    ).rejects.toMatchObject({
      code: 'run_aborted',
      message: expect.stringContaining('was aborted: user stopped'),
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
