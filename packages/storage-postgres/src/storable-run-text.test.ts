import {
  Assistant,
  checkStorable,
  createInMemoryStorage,
  defineTool,
  type Storage,
  type ToolResultEvent,
} from '@steward/core';
import { createMcpRegistry } from '@steward/mcp';
import { createScriptedModel } from '@steward/testing';
import { defaultMockTools, type MockMcpTool, startMockMcpServer } from '@steward/testing/mock-mcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestSchemas } from './test-helpers.ts';

// PostgreSQL refuses NUL and would change a lone surrogate, and every storage refuses both. A
// model, a local tool and an MCP server can each produce them: the run must still complete, with
// every event and message stored and U+FFFD where they were.
const db = useTestSchemas();

const dirtyMcpTools: MockMcpTool[] = [
  {
    name: 'dirty',
    description: 'Answers with NUL and a lone surrogate',
    inputSchema: { type: 'object', properties: {} },
    annotations: { readOnlyHint: true },
    handler: () => ({ content: [{ type: 'text', text: 'mcp\u0000 says\udc00' }] }),
  },
  {
    name: 'dirty_error',
    description: 'Fails with NUL in its error text',
    inputSchema: { type: 'object', properties: {} },
    annotations: { readOnlyHint: true },
    handler: () => ({ content: [{ type: 'text', text: 'failed\u0000' }], isError: true }),
  },
];

const localTool = defineTool({
  name: 'local_dirty',
  description: 'Returns NUL',
  input: z.object({}),
  execute: () => ({ note: 'local\u0000' }),
});

let server: Awaited<ReturnType<typeof startMockMcpServer>>;
beforeAll(async () => {
  server = await startMockMcpServer({ tools: [...defaultMockTools(), ...dirtyMcpTools] });
});
afterAll(() => server.close());

describe.each([
  ['in memory', (): Storage => createInMemoryStorage()],
  ['PostgreSQL', (): Storage => db.storage()],
])('a run over %s storage, given text no storage keeps', (_name, createStorage) => {
  it('completes, stores every event and message, and carries U+FFFD where the text was', async () => {
    const registry = createMcpRegistry({
      servers: [
        {
          name: 'mock',
          transport: 'streamable-http',
          url: server.url,
          readOnlyTools: ['echo', 'dirty', 'dirty_error'],
        },
      ],
    });
    await registry.ready();
    const storage = createStorage();
    const assistant = new Assistant({
      model: createScriptedModel([
        {
          text: 'Looking\u0000 it up\udc00',
          toolCalls: [
            // A JSON escape the model wrote: JSON.parse would make it NUL.
            { name: 'mock__echo', arguments: '{"text":"a\\u0000b"}' },
            { name: 'mock__dirty', arguments: {} },
            { name: 'mock__dirty_error', arguments: {} },
            { name: 'local_dirty', arguments: {} },
          ],
        },
        { text: ' done' },
      ]),
      tools: [registry, localTool],
      storage,
    });
    try {
      const run = assistant.run({ input: 'go', userId: 'ann' });
      const events = [];
      for await (const event of run) events.push(event);
      const result = await run.result;
      expect(result).toMatchObject({
        stopReason: 'stop',
        partial: false,
        text: 'Looking\uFFFD it up\uFFFD done',
      });
      expect((await storage.getRun(run.id, { userId: 'ann' }))?.status).toBe('completed');
      expect(await storage.listEvents(run.id, { userId: 'ann' })).toEqual(events);

      const results = Object.fromEntries(
        events
          .filter((event): event is ToolResultEvent => event.type === 'tool_result')
          .map((event) => [event.tool_slug, event]),
      );
      expect(server.calls.find((call) => call.name === 'echo')?.args).toEqual({ text: 'a\uFFFDb' });
      expect(results.mock__echo?.result).toBe('a\uFFFDb');
      expect(results.mock__dirty?.result).toBe('mcp\uFFFD says\uFFFD');
      expect(results.mock__dirty_error?.error?.message).toContain('failed\uFFFD');
      expect(results.local_dirty?.result).toEqual({ note: 'local\uFFFD' });

      const history = await assistant.getHistory(run.sessionId, { userId: 'ann' });
      expect(history.map((stored) => stored.message.role)).toEqual([
        'user',
        'assistant',
        'tool',
        'tool',
        'tool',
        'tool',
        'assistant',
      ]);
      expect(() => checkStorable(history, 'history')).not.toThrow();
      expect(history.find((stored) => stored.message.role === 'tool')?.message.content).toBe('a\uFFFDb');
    } finally {
      await registry.close();
    }
  });
});
