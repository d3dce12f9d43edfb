import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** A second, small MCP server for the demo: what an admin registers from the "Register a server" page. */
export interface CalendarServer {
  /** `http://127.0.0.1:port/mcp` */
  readonly mcpUrl: string;
  readonly events: { title: string; start: string }[];
  stop(): Promise<void>;
}

const createEventSchema = z
  .object({ title: z.string().min(1).max(200), start: z.iso.datetime({ offset: true }) })
  .strict();

function calendarMcpServer(events: CalendarServer['events']): Server {
  const server = new Server({ name: 'calendar-demo', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: 'list_events',
        title: 'List upcoming events',
        description: 'Lists the events on the calendar, soonest first.',
        inputSchema: { type: 'object', properties: {} },
        annotations: { title: 'List upcoming events', readOnlyHint: true },
      },
      {
        name: 'create_event',
        title: 'Create an event',
        description:
          'Adds an event to the calendar. This has side effects: it needs the user’s confirmation.',
        inputSchema: {
          type: 'object',
          properties: { title: { type: 'string' }, start: { type: 'string', format: 'date-time' } },
          required: ['title', 'start'],
          additionalProperties: false,
        },
        annotations: { title: 'Create an event', readOnlyHint: false },
      },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    if (request.params.name === 'list_events') {
      const sorted = [...events].sort((a, b) => a.start.localeCompare(b.start));
      return {
        content: [{ type: 'text', text: JSON.stringify(sorted) }],
        structuredContent: { events: sorted },
      };
    }
    if (request.params.name === 'create_event') {
      const parsed = createEventSchema.safeParse(request.params.arguments ?? {});
      if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, z.prettifyError(parsed.error));
      events.push(parsed.data);
      return { content: [{ type: 'text', text: `Created “${parsed.data.title}”.` }] };
    }
    throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${request.params.name}`);
  });
  return server;
}

async function jsonBody(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1_000_000) throw new Error('too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** Starts the demo calendar: MCP over Streamable HTTP (stateless), on a free port of 127.0.0.1. */
export async function startCalendarServer(): Promise<CalendarServer> {
  const events = [
    { title: 'Quarterly review', start: '2026-12-01T09:00:00Z' },
    { title: 'Team lunch', start: '2026-12-03T12:00:00Z' },
  ];
  const server = createServer((request, response) => {
    if (new URL(request.url ?? '/', 'http://calendar.invalid').pathname !== '/mcp') {
      response.writeHead(404).end();
      return;
    }
    if (request.method !== 'POST') {
      response.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    void (async () => {
      let body: unknown;
      try {
        body = await jsonBody(request);
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid JSON"}');
        return;
      }
      // Stateless: a fresh protocol server and transport per request.
      const transport = new StreamableHTTPServerTransport({});
      const mcp = calendarMcpServer(events);
      response.once('close', () => {
        void transport.close();
        void mcp.close();
      });
      await mcp.connect(transport);
      await transport.handleRequest(request, response, body);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    mcpUrl: `http://127.0.0.1:${port}/mcp`,
    events,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
