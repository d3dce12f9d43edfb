import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ToolCallContext, ToolProgress } from '@steward/core';

const require = createRequire(import.meta.url);

/** @internal The entry script of @modelcontextprotocol/server-everything. */
export const everythingEntry = join(
  dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);

/** @internal The stdio entry of @steward/testing's mock MCP server. */
export const mockStdioEntry = require.resolve('@steward/testing/mock-mcp-stdio');

/** @internal A tool-call context that records progress. */
export function callContext(signal: AbortSignal = new AbortController().signal) {
  const progress: ToolProgress[] = [];
  const context: ToolCallContext = {
    signal,
    runId: 'run',
    sessionId: 'session',
    userId: 'user',
    callId: 'call',
    reportProgress: (update) => progress.push(update),
  };
  return { context, progress };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** @internal Starts server-everything over Streamable HTTP in a child process. */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse' = 'streamableHttp'): Promise<{
  url: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}> {
  const port = await freePort();
  const child = spawn(process.execPath, [everythingEntry, mode], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A test that dies before its afterAll must not leave the server running.
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  child.once('exit', () => process.off('exit', killChild));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server-everything did not start')), 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      if (/listening|running on port/i.test(chunk.toString())) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`server-everything exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** @internal What {@link startRecordingServer} saw of one HTTP request. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

/**
 * @internal An MCP server (one `echo` tool) over Streamable HTTP or legacy HTTP+SSE that records
 * each request's Authorization header, refuses those `authorize` rejects with 401, and can end
 * its open GET streams so the client reconnects them.
 */
export async function startRecordingServer(
  transport: 'streamable-http' | 'sse',
  authorize: (authorization: string | undefined) => Promise<boolean> = async () => true,
) {
  const requests: RecordedRequest[] = [];
  const streams = new Set<ServerResponse>();
  const sessions = new Map<string, StreamableHTTPServerTransport | SSEServerTransport>();
  const newServer = () => {
    const server = new Server({ name: 'recording', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [{ name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, (request) => ({
      content: [{ type: 'text', text: String(request.params.arguments?.text) }],
    }));
    return server;
  };
  const http = createHttpServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const authorization = request.headers.authorization;
    requests.push({ method: request.method ?? 'GET', path: url.pathname, authorization });
    if (!(await authorize(authorization))) {
      response
        .writeHead(401, {
          'www-authenticate': 'Bearer error="invalid_token"',
          'content-type': 'application/json',
        })
        .end(JSON.stringify({ error: 'invalid_token' }));
      return;
    }
    if (request.method === 'GET') {
      streams.add(response);
      response.once('close', () => streams.delete(response));
    }
    if (transport === 'sse') {
      if (request.method === 'GET') {
        const session = new SSEServerTransport('/messages', response);
        sessions.set(session.sessionId, session);
        await newServer().connect(session);
        return;
      }
      const session = sessions.get(url.searchParams.get('sessionId') ?? '');
      if (session instanceof SSEServerTransport) await session.handlePostMessage(request, response);
      else response.writeHead(404).end();
      return;
    }
    const id = request.headers['mcp-session-id'];
    let session = typeof id === 'string' ? sessions.get(id) : undefined;
    if (session === undefined) {
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => {
          sessions.set(sessionId, created);
        },
      });
      await newServer().connect(created);
      session = created;
    }
    if (session instanceof StreamableHTTPServerTransport) await session.handleRequest(request, response);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${transport === 'sse' ? 'sse' : 'mcp'}`,
    requests,
    /** Ends every open GET stream, as a proxy cutting idle connections would. */
    endStreams: () => {
      for (const stream of streams) stream.end();
    },
    close: async () => {
      await Promise.all([...sessions.values()].map((session) => session.close().catch(() => {})));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

/**
 * @internal The `registrations` policy an operator would write to let registrations reach these
 * local test servers: their exact origins, and the loopback address they listen on.
 */
export function allowLocal(...urls: string[]) {
  return { allowedOrigins: urls.map((url) => new URL(url).origin), allowedNetworks: ['127.0.0.1'] };
}
