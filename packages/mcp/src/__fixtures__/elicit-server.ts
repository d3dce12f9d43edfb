import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';

const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] });

/**
 * A test MCP server built on the SDK's `McpServer` whose tools ask the user through elicitation
 * and answer with exactly what the client sent back. Run it with `node elicit-server.ts stdio`,
 * or connect it to a Streamable HTTP transport in process.
 */
export function createElicitServer(): McpServer {
  const server = new McpServer({ name: 'elicit', version: '1.0.0' });
  let lateAnswer: ElicitResult | { error: string } | undefined;

  server.registerTool(
    'ask_floor',
    { title: 'Book a desk', description: 'Asks which floor, then books', inputSchema: {} },
    async (_args, extra) =>
      text(
        await server.server.elicitInput(
          {
            message: 'Which floor?',
            requestedSchema: {
              type: 'object',
              properties: {
                floor: { type: 'integer', minimum: 1, maximum: 9, title: 'Floor' },
                quiet: { type: 'boolean', default: true },
                note: { type: 'string', maxLength: 20 },
              },
              required: ['floor'],
            },
          },
          // On the call's own response stream (Streamable HTTP), as a request about this call.
          { relatedRequestId: extra.requestId, timeout: 600_000 },
        ),
      ),
  );

  server.registerTool(
    'open_link',
    { description: 'Asks the user to open a link', inputSchema: {} },
    async (_args, extra) =>
      text(
        await server.server.elicitInput(
          {
            mode: 'url',
            message: 'Connect your calendar',
            elicitationId: 'elicitation-1',
            url: 'https://auth.example.com/connect?state=abc',
          },
          { relatedRequestId: extra.requestId, timeout: 600_000 },
        ),
      ),
  );

  server.registerTool(
    'ask_briefly',
    { description: 'Asks, but gives up after 100 ms', inputSchema: {} },
    async (_args, extra) => {
      try {
        return text(
          await server.server.elicitInput(
            { message: 'Quick!', requestedSchema: { type: 'object', properties: {} } },
            { relatedRequestId: extra.requestId, timeout: 100 },
          ),
        );
      } catch (error) {
        return text({ gaveUp: (error as Error).message });
      }
    },
  );

  // Asks after the call ended: a request no call of the client's is waiting for.
  server.registerTool('ask_later', { description: 'Asks once the call ended', inputSchema: {} }, async () => {
    setTimeout(() => {
      server.server
        .elicitInput({ message: 'Out of the blue', requestedSchema: { type: 'object', properties: {} } })
        .then(
          (answer) => {
            lateAnswer = answer;
          },
          (error: Error) => {
            lateAnswer = { error: error.message };
          },
        );
    }, 10);
    return text('asked later');
  });

  server.registerTool(
    'late_answer',
    { description: 'What the later request got', inputSchema: {} },
    async () => text(lateAnswer ?? null),
  );

  server.registerTool(
    'list_files',
    {
      title: 'List files',
      description: 'Links to files',
      inputSchema: {},
      annotations: { readOnlyHint: true },
    },
    async () => ({
      content: [
        { type: 'text' as const, text: 'Two files' },
        { type: 'resource_link' as const, uri: 'file:///a.txt', name: 'a.txt', mimeType: 'text/plain' },
        { type: 'resource_link' as const, uri: 'file:///b.txt', name: 'b.txt', title: 'B' },
      ],
      structuredContent: { count: 2 },
    }),
  );
  return server;
}

/** Serves {@link createElicitServer} over Streamable HTTP in this process, one server per session. */
export async function startElicitHttp(): Promise<{ url: string; close: () => Promise<void> }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (request, response) => {
    const id = request.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (transport === undefined) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => {
          sessions.set(sessionId, created);
        },
      });
      await createElicitServer().connect(created);
      transport = created;
    }
    await transport.handleRequest(request, response);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      await Promise.all([...sessions.values()].map((session) => session.close().catch(() => {})));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

const main = process.argv[1] === undefined ? undefined : pathToFileURL(process.argv[1]).href;
if (import.meta.url === main && process.argv[2] === 'stdio')
  await createElicitServer().connect(new StdioServerTransport());
