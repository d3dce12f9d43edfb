import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStewardApi, type StewardApi } from './api.ts';
import type { StewardApiOptions } from './api-options.ts';
import { toNodeHandler } from './node-handler.ts';
import { attachWebSocket, type WebSocketOptions } from './websocket.ts';

/** A running Steward server: the HTTP API and the run WebSocket on one port. */
export interface StewardServer {
  readonly server: Server;
  readonly api: StewardApi;
  /** `http://127.0.0.1:<port>` once listening. */
  readonly url: string;
  /** Closes sockets (1001, resumable elsewhere) and the server; runs under way go on. */
  close(): Promise<void>;
}

/**
 * A standalone orchestrator: {@link createStewardApi} over node:http with the WebSocket on
 * `/ws`. For Express or Next, mount the parts instead (`toNodeHandler`, `attachWebSocket`, `api.fetch`).
 */
export async function startStewardServer(
  options: StewardApiOptions & {
    port?: number;
    host?: string;
    /** Pending connections the OS may queue; raise it when many clients connect at once. Default 511. */
    backlog?: number;
    websocket?: WebSocketOptions;
  },
): Promise<StewardServer> {
  const { port = 0, host = '127.0.0.1', backlog = 511, websocket, ...apiOptions } = options;
  const api = createStewardApi(apiOptions);
  const server = createServer(toNodeHandler(api));
  const detach = attachWebSocket(server, api, websocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog }, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    api,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    async close() {
      await detach();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
