import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport, type SSEClientTransportOptions } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Implementation } from '@modelcontextprotocol/sdk/types.js';
import { StewardError } from '@steward/core';
import type { ResolvedServerConfig } from './server-config.ts';
import { defaultAudience, type FetchLike, fetchWithServiceToken } from './service-auth.ts';
import type { ServiceTokenSigner } from './service-token-signer.ts';
import { authRefused, refusedStatus } from './tool-errors.ts';
import { fetchWithTraceContext } from './tracing.ts';

/** @internal A connected MCP client, its transport, and the transport kind it ended up on. */
export interface OpenedClient {
  readonly client: Client;
  readonly transport: Transport;
  readonly kind: 'streamable-http' | 'sse' | 'stdio';
}

/** A 4xx other than 401 and 403: a server that may speak only the legacy transport. */
function isClientError(error: unknown): boolean {
  return (
    error instanceof StreamableHTTPError &&
    error.code !== undefined &&
    error.code >= 400 &&
    error.code < 500 &&
    refusedStatus(error) === undefined
  );
}

/** @internal The audience of the server's service tokens, or undefined when it gets none. */
export function serviceAudience(config: ResolvedServerConfig): string | undefined {
  if (config.transport === 'stdio' || config.serviceAuth === undefined) return undefined;
  return config.serviceAuth.audience ?? defaultAudience(config.url);
}

/** @internal Ends a client's session politely (DELETE for Streamable HTTP), then closes it. */
export async function closeClient(opened: OpenedClient): Promise<void> {
  if (opened.transport instanceof StreamableHTTPClientTransport && opened.transport.sessionId !== undefined) {
    await opened.transport.terminateSession().catch(() => {});
  }
  await opened.client.close().catch(() => {});
  await opened.transport.close().catch(() => {});
}

async function connect(
  clientInfo: Implementation,
  transport: Transport,
  kind: OpenedClient['kind'],
  setup: (client: Client) => void,
  timeoutMs: number,
): Promise<OpenedClient> {
  // Elicitation in both modes of the 2025-11-25 revision: a form the user fills in, or a link the
  // user opens. Answers reach the server only from the run's user (see elicitation.ts).
  const client = new Client(clientInfo, { capabilities: { elicitation: { form: {}, url: {} } } });
  setup(client);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The SDK's own timeout covers `initialize` only; starting an SSE transport (waiting for its
  // endpoint event) has none, so the whole connection is bounded here.
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new StewardError('tool_unavailable', `Connecting timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([client.connect(transport, { timeout: timeoutMs }), deadline]);
    return { client, transport, kind };
  } catch (error) {
    // A failed start leaves an EventSource or child process behind unless closed here.
    await client.close().catch(() => {});
    await transport.close().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * @internal Connects to one server. A Streamable HTTP server that answers the initialize
 * request with a 4xx (but 401 or 403: those are about credentials, not the protocol) is tried
 * again over the legacy HTTP+SSE transport, as the MCP spec's backwards-compatibility section
 * describes. stdio is imported only when used, so hosts that never spawn servers never load
 * `child_process`. HTTP transports use `http.fetch` (default: the global one); with
 * `serviceAuth`, through a wrapper that adds a fresh service token to every request; always with
 * the active trace context (`traceparent`), so the server can continue the run's trace.
 */
export async function openClient(
  config: ResolvedServerConfig,
  clientInfo: Implementation,
  setup: (client: Client) => void,
  timeoutMs: number,
  http: { signer: ServiceTokenSigner | undefined; fetch: FetchLike | undefined },
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
    return connect(clientInfo, transport, 'stdio', setup, timeoutMs);
  }
  const url = new URL(config.url);
  const audience = serviceAudience(config);
  const { signer } = http;
  if (audience !== undefined && signer === undefined) {
    throw new StewardError(
      'invalid_options',
      `${config.name}: registered with serviceAuth, but the registry has no serviceAuth signer`,
    );
  }
  const fetch = fetchWithTraceContext(
    audience === undefined || signer === undefined
      ? http.fetch
      : fetchWithServiceToken(signer, audience, http.fetch),
  );
  const options: SSEClientTransportOptions = { requestInit: { headers: config.headers }, fetch };
  const refused = (error: unknown) => {
    const status = refusedStatus(error);
    return status === undefined
      ? error
      : authRefused(config.name, status, audience, (error as Error).message, error);
  };
  const sse = () =>
    connect(clientInfo, new SSEClientTransport(url, options), 'sse', setup, timeoutMs).catch((error) => {
      throw refused(error);
    });
  if (config.transport === 'sse') return sse();
  try {
    return await connect(
      clientInfo,
      new StreamableHTTPClientTransport(url, options),
      'streamable-http',
      setup,
      timeoutMs,
    );
  } catch (error) {
    if (!isClientError(error)) throw refused(error);
    return sse();
  }
}
