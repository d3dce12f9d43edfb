import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { defaultMockTools, type MockMcpTool } from './mock-mcp-tools.ts';

/** Options of a mock MCP server. */
export interface MockMcpServerOptions {
  /** Tools to offer. Default: {@link defaultMockTools}. */
  tools?: MockMcpTool[];
  /** Tools per `tools/list` page; the rest follow through `nextCursor`. Default: all on one page. */
  pageSize?: number;
}

/** @internal The MCP logic shared by the HTTP and stdio mock servers. */
export class MockMcpCore {
  readonly tools: MockMcpTool[];
  readonly calls: { name: string; args: Record<string, unknown> }[] = [];
  readonly cancelled: string[] = [];
  readonly #pageSize: number;
  readonly #servers = new Set<Server>();

  constructor(options: MockMcpServerOptions) {
    this.tools = options.tools ?? defaultMockTools();
    this.#pageSize = options.pageSize ?? Number.POSITIVE_INFINITY;
  }

  /** A new protocol server for one session, wired to the shared tools and records. */
  createServer(): Server {
    const server = new Server(
      { name: 'steward-mock-mcp', version: '1.0.0' },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.setRequestHandler(ListToolsRequestSchema, (request) => {
      const start = request.params?.cursor === undefined ? 0 : Number.parseInt(request.params.cursor, 10);
      if (!Number.isInteger(start) || start < 0 || start > this.tools.length) {
        throw new McpError(ErrorCode.InvalidParams, `Unknown cursor ${request.params?.cursor}`);
      }
      const end = Math.min(this.tools.length, start + this.#pageSize);
      const page: Tool[] = this.tools.slice(start, end).map(({ handler: _handler, ...tool }) => tool);
      return end < this.tools.length ? { tools: page, nextCursor: String(end) } : { tools: page };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const tool = this.tools.find((candidate) => candidate.name === request.params.name);
      if (tool === undefined)
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${request.params.name}`);
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      this.calls.push({ name: tool.name, args });
      extra.signal.addEventListener('abort', () => this.cancelled.push(tool.name), { once: true });
      const progressToken = request.params._meta?.progressToken;
      return tool.handler(args, {
        signal: extra.signal,
        reportProgress: async (progress, total, message) => {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: 'notifications/progress',
            params: {
              progressToken,
              progress,
              ...(total === undefined ? {} : { total }),
              ...(message === undefined ? {} : { message }),
            },
          });
        },
      });
    });
    this.#servers.add(server);
    server.onclose = () => this.#servers.delete(server);
    return server;
  }

  /** Adds a tool and tells every connected client that the list changed. */
  async addTool(tool: MockMcpTool): Promise<void> {
    this.tools.push(tool);
    await Promise.all([...this.#servers].map((server) => server.sendToolListChanged().catch(() => {})));
  }

  async connect(transport: Transport): Promise<void> {
    await this.createServer().connect(transport);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#servers].map((server) => server.close().catch(() => {})));
  }
}

/** A running mock MCP server over Streamable HTTP. */
export interface MockMcpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:PORT/mcp`. */
  readonly url: string;
  readonly tools: MockMcpTool[];
  /** Every tool call received. */
  readonly calls: readonly { name: string; args: Record<string, unknown> }[];
  /** Names of tools whose calls the client cancelled (`notifications/cancelled`). */
  readonly cancelled: readonly string[];
  addTool(tool: MockMcpTool): Promise<void>;
  /** Forgets every session: the next request with an old session id gets a 404, as after a server restart. */
  expireSessions(): void;
  /** Answers every request with this HTTP status until reset with `undefined`. */
  failWith(status: number | undefined): void;
  /** Answers new-session (initialize) requests with this status until reset with `undefined`. */
  failInitializeWith(status: number | undefined): void;
  /** HTTP requests received, with their headers (the newest last). */
  readonly httpRequests: readonly {
    method: string;
    headers: Readonly<Record<string, string | string[] | undefined>>;
  }[];
  close(): Promise<void>;
}

/**
 * Starts a mock MCP server over Streamable HTTP (stateful sessions) for tests: paginated
 * `tools/list`, `notifications/tools/list_changed`, progress, cancellation, and faults.
 */
export async function startMockMcpServer(options: MockMcpServerOptions = {}): Promise<MockMcpServer> {
  const core = new MockMcpCore(options);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let failure: number | undefined;
  let initializeFailure: number | undefined;

  const httpRequests: { method: string; headers: Readonly<Record<string, string | string[] | undefined>> }[] =
    [];
  const http = createHttpServer(async (request, response) => {
    httpRequests.push({ method: request.method ?? 'GET', headers: request.headers });
    if (failure !== undefined) {
      response.writeHead(failure, { 'content-type': 'text/plain' }).end('injected failure');
      return;
    }
    if (!request.url?.startsWith('/mcp')) {
      response.writeHead(404).end();
      return;
    }
    const sessionId = request.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const transport = sessions.get(sessionId);
      if (transport === undefined) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
        );
        return;
      }
      await transport.handleRequest(request, response);
      return;
    }
    if (initializeFailure !== undefined) {
      response
        .writeHead(initializeFailure, { 'content-type': 'text/plain' })
        .end('injected initialize failure');
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    await core.connect(transport);
    await transport.handleRequest(request, response);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    tools: core.tools,
    calls: core.calls,
    cancelled: core.cancelled,
    addTool: (tool) => core.addTool(tool),
    expireSessions: () => sessions.clear(),
    failWith: (status) => {
      failure = status;
    },
    failInitializeWith: (status) => {
      initializeFailure = status;
    },
    httpRequests,
    close: async () => {
      await core.closeAll();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
