import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Implementation } from '@modelcontextprotocol/sdk/types.js';
import type { ResolvedServerConfig } from './server-config.ts';

/** @internal A connected MCP client and the transport kind it ended up on. */
export interface OpenedClient {
  readonly client: Client;
  readonly transport: 'streamable-http' | 'sse' | 'stdio';
}

function isClientError(error: unknown): boolean {
  return (
    error instanceof StreamableHTTPError && error.code !== undefined && error.code >= 400 && error.code < 500
  );
}

async function connect(
  clientInfo: Implementation,
  transport: Transport,
  setup: (client: Client) => void,
  timeoutMs: number,
) {
  const client = new Client(clientInfo, { capabilities: {} });
  setup(client);
  await client.connect(transport, { timeout: timeoutMs });
  return client;
}

/**
 * @internal Connects to one server. A Streamable HTTP server that answers the initialize
 * request with a 4xx is tried again over the legacy HTTP+SSE transport, as the MCP spec's
 * backwards-compatibility section describes. stdio is imported only when used, so hosts that
 * never spawn servers never load `child_process`.
 */
export async function openClient(
  config: ResolvedServerConfig,
  clientInfo: Implementation,
  setup: (client: Client) => void,
  timeoutMs: number,
): Promise<OpenedClient> {
  if (config.transport === 'stdio') {
    const { StdioClientTransport, getDefaultEnvironment } = await import(
      '@modelcontextprotocol/sdk/client/stdio.js'
    );
    const transport = new StdioClientTransport({
      command: config.command,
      args: [...config.args],
      env: { ...getDefaultEnvironment(), ...config.env },
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
    });
    return { client: await connect(clientInfo, transport, setup, timeoutMs), transport: 'stdio' };
  }
  const url = new URL(config.url);
  const requestInit = { headers: config.headers };
  if (config.transport === 'sse') {
    return {
      client: await connect(clientInfo, new SSEClientTransport(url, { requestInit }), setup, timeoutMs),
      transport: 'sse',
    };
  }
  try {
    const transport = new StreamableHTTPClientTransport(url, { requestInit });
    return { client: await connect(clientInfo, transport, setup, timeoutMs), transport: 'streamable-http' };
  } catch (error) {
    if (!isClientError(error)) throw error;
    const transport = new SSEClientTransport(url, { requestInit });
    return { client: await connect(clientInfo, transport, setup, timeoutMs), transport: 'sse' };
  }
}
