import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Authenticator, Principal, ProtocolErrorFrame } from '@steward/transport-ws';
import { type RunStream, StewardClientError } from '@steward/transport-ws/client';
import { type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { OrchestratorUnavailableError } from './orchestrator-errors.ts';
import type { OrchestratorClientFor } from './remote-backend.ts';

/** Options of {@link attachRunRelay}. */
export interface RunRelayOptions {
  /** The host's authenticator: the page's run tokens are the host's own. */
  auth: Authenticator;
  /** The orchestrator's client for a user (a fresh service token per request and reconnect). */
  clientFor: OrchestratorClientFor;
  /** Default `/ws`, where the page's script connects. */
  path?: string;
  /** Largest frame the page may send. Default 64 KiB. */
  maxFrameBytes?: number;
}

// The frames the page may send, checked for their shape only: the orchestrator checks the rest
// and answers a refused one with a protocol error frame, which is relayed.
const clientFrameSchema = z.looseObject({ type: z.enum(['approve', 'deny', 'input', 'stop']) });

/** An upgrade refused before any WebSocket exists: a status the page's script treats as a drop. */
class RelayRefusal extends Error {
  readonly status: 400 | 401 | 404 | 503;
  constructor(status: 400 | 401 | 404 | 503, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The page's run WebSocket in pattern A: `WS /ws?run_id=…&last_seq=…&token=…` on the host, with
 * the run token the host signed. Each socket subscribes to the run on the orchestrator (its `/ws`,
 * with a service token for the user) from `last_seq`, and relays every event as it comes, in
 * the frames the in-process `/ws` sends, so `chat.js` cannot tell the two apart. A drop between
 * host and orchestrator (a replica draining with 1001) is resumed by seq inside the relay; a
 * drop the relay cannot mend closes the page's socket without `final`, and the page reconnects
 * with its own `last_seq`. The page's frames (approve, deny, input, stop) go up the same socket.
 * Closing the page's socket never stops the run. Returns a function that closes every socket
 * (1001) and detaches.
 */
export function attachRunRelay(server: Server, options: RunRelayOptions): () => Promise<void> {
  const path = options.path ?? '/ws';
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes ?? 64 * 1024 });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = URL.parse(request.url ?? '/', 'http://localhost');
    if (url?.pathname !== path) return;
    const drop = () => socket.destroy();
    socket.on('error', drop);
    admit(options, url).then(
      (admitted) => {
        socket.off('error', drop);
        if (socket.destroyed) return;
        wss.handleUpgrade(request, socket, head, (ws) => relay(options, ws, admitted));
      },
      (error: unknown) => {
        const refusal =
          error instanceof RelayRefusal
            ? error
            : new RelayRefusal(503, 'The assistant service is unavailable');
        const body = JSON.stringify({
          error: {
            code: refusal.status === 503 ? 'orchestrator_unavailable' : 'refused',
            message: refusal.message,
          },
        });
        socket.end(
          `HTTP/1.1 ${refusal.status} ${refusal.status === 503 ? 'Service Unavailable' : 'Refused'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      },
    );
  };
  server.on('upgrade', onUpgrade);

  return async () => {
    server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

interface Admitted {
  readonly principal: Principal;
  readonly runId: string;
  readonly afterSeq: number;
}

async function admit(options: RunRelayOptions, url: URL): Promise<Admitted> {
  const token = url.searchParams.get('token') ?? '';
  const runId = url.searchParams.get('run_id') ?? '';
  const lastSeq = url.searchParams.get('last_seq') ?? '0';
  if (runId === '' || !/^\d{1,15}$/.test(lastSeq))
    throw new RelayRefusal(400, 'run_id and a numeric last_seq are required');
  const principal = await options.auth.authenticate(token).catch(() => {
    throw new RelayRefusal(401, 'Invalid run token');
  });
  // Only the host's run tokens open the relay, each for its own run: the page never holds a
  // token that could open another run, and never the orchestrator's.
  if (principal.runId !== runId) throw new RelayRefusal(404, 'No such run');
  // Ask the orchestrator first, so a missing run is a 404 here and a dead orchestrator a 503.
  try {
    await options.clientFor(principal.userId).getRun(runId);
  } catch (error) {
    if (StewardClientError.isInstance(error) && error.status === 404)
      throw new RelayRefusal(404, 'No such run');
    throw new OrchestratorUnavailableError(error);
  }
  return { principal, runId, afterSeq: Number(lastSeq) };
}

function relay(options: RunRelayOptions, ws: WebSocket, { principal, runId, afterSeq }: Admitted): void {
  const reading = new AbortController();
  const sendError = (code: string, message: string) => {
    const frame: ProtocolErrorFrame = { type: 'error', run_id: runId, code, message, retryable: false };
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  const stream: RunStream = options.clientFor(principal.userId).stream(runId, {
    afterSeq,
    signal: reading.signal,
    onProtocolError: (error) => sendError(error.code, error.message),
  });
  ws.on('close', () => reading.abort());
  ws.on('error', () => reading.abort());
  ws.on('message', (data, isBinary) => {
    let frame: unknown;
    try {
      frame = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      frame = undefined;
    }
    const parsed = clientFrameSchema.safeParse(frame);
    if (!parsed.success) {
      sendError('invalid_frame', 'Expected a JSON frame of type approve, deny, input or stop');
      return;
    }
    try {
      stream.send(parsed.data as Parameters<RunStream['send']>[0]);
    } catch {
      // Between the orchestrator's sockets (a reconnect): the page may send it again.
      sendError('not_connected', 'The assistant service is reconnecting; try again in a moment');
    }
  });

  void (async () => {
    try {
      for await (const event of stream) {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify(event));
        if (event.type === 'final') {
          ws.close(1000, 'run ended');
          return;
        }
      }
      // The stream ended without `final` (the page left): nothing more to send.
    } catch {
      // The orchestrator stayed out of reach past the client's retries: drop the page's socket
      // without `final`, so it reconnects with its `last_seq` and resumes once it is back.
    }
    if (ws.readyState === ws.OPEN) ws.close(1011, 'orchestrator unreachable');
  })();
}
