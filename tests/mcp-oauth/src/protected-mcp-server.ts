// A small OAuth-protected MCP server: protected resource metadata (RFC 9728) naming an
// authorization server, a 401 challenge without a token, and one tool that says whose token it
// got. Stateless Streamable HTTP on the MCP SDK's server, so each request stands alone.
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import express from 'express';

/** Who a token belongs to, or undefined when it is not valid for this server. */
export type VerifyToken = (
  token: string,
) => Promise<{ subject: string; scopes: readonly string[] } | undefined>;

export interface ProtectedMcpServer {
  readonly url: string;
  readonly mcpUrl: string;
  /** Set after start: the authorization server its metadata names. */
  authorizationServer: string;
  verify: VerifyToken;
  /** The Authorization header scheme and status of every /mcp request. */
  readonly requests: { method: string; bearer: boolean; status: number }[];
  stop(): Promise<void>;
}

export async function startProtectedMcpServer(
  options: { scopes?: readonly string[] } = {},
): Promise<ProtectedMcpServer> {
  const app = express();
  app.use(express.json());
  const state: { authorizationServer: string; verify: VerifyToken } = {
    authorizationServer: '',
    verify: async () => undefined,
  };
  const requests: ProtectedMcpServer['requests'] = [];
  let origin = '';
  const metadataUrl = () => `${origin}/.well-known/oauth-protected-resource/mcp`;

  app.get('/.well-known/oauth-protected-resource/mcp', (_request, response) => {
    response.json({
      resource: `${origin}/mcp`,
      authorization_servers: [state.authorizationServer],
      ...(options.scopes === undefined ? {} : { scopes_supported: options.scopes }),
    });
  });
  app.all('/mcp', async (request, response) => {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    const who = token === undefined ? undefined : await state.verify(token);
    response.on('finish', () =>
      requests.push({ method: request.method, bearer: token !== undefined, status: response.statusCode }),
    );
    if (who === undefined) {
      const error = token === undefined ? '' : 'error="invalid_token", ';
      response
        .status(401)
        .set('WWW-Authenticate', `Bearer ${error}resource_metadata="${metadataUrl()}"`)
        .json({ error: 'unauthorized' });
      return;
    }
    if (request.method !== 'POST') {
      response.status(405).end();
      return;
    }
    const server = new Server({ name: 'protected', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [
        { name: 'whoami', description: 'Whose token the call carried', inputSchema: { type: 'object' } },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, () => ({
      content: [{ type: 'text', text: JSON.stringify({ subject: who.subject, scopes: who.scopes }) }],
    }));
    // No session id generator: stateless, each request stands alone.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request, response, request.body);
  });

  const listening: HttpServer = await new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
  origin = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  return {
    url: origin,
    mcpUrl: `${origin}/mcp`,
    get authorizationServer() {
      return state.authorizationServer;
    },
    set authorizationServer(value: string) {
      state.authorizationServer = value;
    },
    get verify() {
      return state.verify;
    },
    set verify(value: VerifyToken) {
      state.verify = value;
    },
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        listening.closeAllConnections();
        listening.close(() => resolve());
      }),
  };
}
