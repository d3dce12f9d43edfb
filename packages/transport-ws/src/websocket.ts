import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import type { StewardApi } from './api.ts';
import { bearerToken, type Principal } from './auth.ts';
import { HttpError } from './http-error.ts';
import { idSchema, validate } from './request-schemas.ts';
import { decisionSchema, inputAnswerSchema } from './run-access.ts';

/** Close codes of the run socket. */
export const closeCodes = {
  /** The run ended (`final` was sent). */
  runEnded: 1000,
  /** The server is shutting down: reconnect (elsewhere) with `last_seq`. */
  goingAway: 1001,
  /** The client read too slowly (the send buffer stayed full): reconnect with `last_seq` to resume. */
  slowConsumer: 1013,
} as const;

/** Options of {@link attachWebSocket}. */
export interface WebSocketOptions {
  /** Default `/ws`. */
  path?: string;
  /** Bytes the send buffer may hold; past it the stream waits for the client to drain. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** How long a full send buffer may wait to drain before the client is dropped (resumable). Default 10,000 ms. */
  slowConsumerTimeoutMs?: number;
  /** Largest client frame. Default 64 KiB. */
  maxFrameBytes?: number;
  /** Ping interval; a client that misses a pong is dropped. Default 30,000 ms. */
  pingIntervalMs?: number;
}

/** A frame the client may send: decide a waiting call, answer a request for input, or stop the run. */
export type ClientFrame =
  | { readonly type: 'approve'; readonly call_id: string; readonly reason?: string }
  | { readonly type: 'deny'; readonly call_id: string; readonly reason?: string }
  | {
      readonly type: 'input';
      readonly request_id: string;
      readonly action: 'accept' | 'decline' | 'cancel';
      readonly content?: Readonly<Record<string, string | number | boolean | readonly string[]>>;
    }
  | { readonly type: 'stop' };

const clientFrameSchema = z.discriminatedUnion('type', [
  decisionSchema
    .omit({ decision: true })
    .extend({ type: z.literal('approve') })
    .strict(),
  decisionSchema
    .omit({ decision: true })
    .extend({ type: z.literal('deny') })
    .strict(),
  z.object({ type: z.literal('input'), request_id: idSchema }).passthrough(),
  z.object({ type: z.literal('stop') }).strict(),
]);

/** A protocol error frame: unlike a run's `error` event it carries no `seq`, and the socket stays open. */
export interface ProtocolErrorFrame {
  readonly type: 'error';
  readonly run_id: string;
  readonly code: string;
  readonly message: string;
  readonly retryable: false;
}

const optionsSchema = z
  .object({
    path: z.string().startsWith('/').default('/ws'),
    maxBufferedBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    maxFrameBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
    pingIntervalMs: z.number().int().positive().default(30_000),
    slowConsumerTimeoutMs: z.number().int().positive().default(10_000),
  })
  .strict();

/**
 * Serves `WS /ws?run_id=…&session_id=…&last_seq=…` on `server`: the run's events as JSON
 * frames exactly as core emits them, from `last_seq` on (each once), until `final`. The token
 * comes from `Authorization: Bearer` or the `token` query parameter (browsers cannot set
 * headers). Client frames approve or deny a call, answer a request for input or stop the run; an invalid frame gets an
 * `error` frame and the socket stays usable. Closing the socket never stops the run.
 * Returns a function that closes every socket (code 1001) and detaches.
 */
export function attachWebSocket(
  server: Server,
  api: StewardApi,
  options: WebSocketOptions = {},
): () => Promise<void> {
  const config = optionsSchema.parse(options);
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Until ws takes the socket over, a reset must not surface as an unhandled 'error'.
    const drop = () => socket.destroy();
    socket.on('error', drop);
    // This runs inside the HTTP parser's callback: a throw here would take the process down.
    const url = URL.parse(request.url ?? '/', 'http://localhost');
    if (url === null) {
      refuseUpgrade(socket, new HttpError(400, 'invalid_request', 'The request URL is malformed'));
      return;
    }
    if (url.pathname !== config.path) {
      socket.off('error', drop);
      // Another handler's path, if there is another handler; otherwise nobody would ever answer.
      if (server.listenerCount('upgrade') === 1)
        refuseUpgrade(socket, new HttpError(404, 'not_found', `No WebSocket endpoint at ${url.pathname}`));
      return;
    }
    const origin = request.headers.origin;
    if (api.origins !== undefined && !api.origins.allows(origin)) {
      refuseUpgrade(socket, api.origins.refusal(origin as string));
      return;
    }
    admit(api, request, url).then(
      (admitted) => {
        socket.off('error', drop);
        if (socket.destroyed) return;
        wss.handleUpgrade(request, socket, head, (ws) => serveRun(api, ws, admitted, config));
      },
      (error: unknown) =>
        refuseUpgrade(
          socket,
          api.describe(error, `Opening WebSocket ${url.pathname}`, { requestId: crypto.randomUUID() }),
        ),
    );
  };
  server.on('upgrade', onUpgrade);

  const sweep = setInterval(() => {
    for (const ws of wss.clients) {
      const tracked = ws as WebSocket & { alive?: boolean };
      if (tracked.alive === false) {
        ws.terminate();
        continue;
      }
      tracked.alive = false;
      ws.ping();
    }
  }, config.pingIntervalMs);
  sweep.unref();

  return async () => {
    server.off('upgrade', onUpgrade);
    clearInterval(sweep);
    for (const ws of wss.clients) ws.close(closeCodes.goingAway, 'server shutting down');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

interface Admitted {
  readonly principal: Principal;
  readonly runId: string;
  readonly afterSeq: number;
}

async function admit(api: StewardApi, request: IncomingMessage, url: URL): Promise<Admitted> {
  const token = bearerToken(request.headers.authorization) ?? url.searchParams.get('token') ?? undefined;
  if (token === undefined) throw new HttpError(401, 'unauthorized', 'Missing bearer token');
  const principal = await api.auth.authenticate(token);
  const runId = validate(idSchema, url.searchParams.get('run_id') ?? undefined, 'run_id');
  const sessionId = url.searchParams.has('session_id')
    ? validate(idSchema, url.searchParams.get('session_id'), 'session_id')
    : undefined;
  const lastSeq = url.searchParams.get('last_seq') ?? '0';
  if (!/^\d{1,15}$/.test(lastSeq))
    throw new HttpError(400, 'invalid_request', 'last_seq must be a non-negative integer');
  await api.access.run(principal, runId, sessionId);
  return { principal, runId, afterSeq: Number(lastSeq) };
}

function refuseUpgrade(socket: Duplex, error: HttpError): void {
  const body = JSON.stringify(error.toBody());
  const reason =
    {
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      503: 'Service Unavailable',
    }[error.status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${error.status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${error.status === 401 ? 'www-authenticate: Bearer\r\n' : ''}connection: close\r\n\r\n${body}`,
  );
}

function serveRun(
  api: StewardApi,
  ws: WebSocket,
  { principal, runId, afterSeq }: Admitted,
  config: z.output<typeof optionsSchema>,
): void {
  const tracked = ws as WebSocket & { alive?: boolean };
  tracked.alive = true;
  ws.on('pong', () => {
    tracked.alive = true;
  });
  const reading = new AbortController();
  ws.on('close', () => reading.abort());
  ws.on('error', () => reading.abort());

  const sendError = (code: string, message: string) => {
    const frame: ProtocolErrorFrame = { type: 'error', run_id: runId, code, message, retryable: false };
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      sendError('invalid_frame', 'Frames must be JSON text');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      sendError('invalid_frame', 'The frame is not valid JSON');
      return;
    }
    const frame = clientFrameSchema.safeParse(parsed) as z.ZodSafeParseResult<ClientFrame>;
    if (!frame.success) {
      const problems = frame.error.issues.map(
        (issue) => `${issue.path.length === 0 ? '(frame)' : issue.path.join('.')}: ${issue.message}`,
      );
      sendError(
        'invalid_frame',
        `Expected {type:"approve"|"deny", call_id}, {type:"input", request_id, action, content?} or {type:"stop"}: ${problems.join('; ')}`,
      );
      return;
    }
    let action: Promise<unknown>;
    if (frame.data.type === 'input') {
      // The answer is the frame without its `type` and `request_id`, checked as the REST body is.
      const { type: _type, request_id: _requestId, ...rest } = parsed as Record<string, unknown>;
      const answer = inputAnswerSchema.safeParse(rest);
      if (!answer.success) {
        const problems = answer.error.issues.map(
          (issue) => `${issue.path.length === 0 ? '(frame)' : issue.path.join('.')}: ${issue.message}`,
        );
        sendError(
          'invalid_frame',
          `Expected {type:"input", request_id, action, content?}: ${problems.join('; ')}`,
        );
        return;
      }
      action = api.access.respondToInput(principal, runId, frame.data.request_id, answer.data);
    } else if (frame.data.type === 'stop') {
      action = api.access.stop(principal, runId);
    } else {
      action = api.access.decide(principal, runId, {
        call_id: frame.data.call_id,
        decision: frame.data.type,
        ...(frame.data.reason === undefined ? {} : { reason: frame.data.reason }),
      });
    }
    action.catch((error: unknown) => {
      const failure = api.describe(error, `A ${frame.data.type} frame of run ${runId}`, { runId });
      sendError(failure.code, failure.message);
    });
  });

  // Backpressure: past the high-water mark, stop pulling events until the buffer drains to half.
  let drained: (() => void) | undefined;
  const onFlushed = () => {
    if (drained !== undefined && ws.bufferedAmount <= config.maxBufferedBytes / 2) {
      drained();
      drained = undefined;
    }
  };
  const waitForDrain = () =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), config.slowConsumerTimeoutMs);
      drained = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const onAbort = () => drained?.();
      reading.signal.addEventListener('abort', onAbort, { once: true });
      const settle = drained;
      drained = () => {
        reading.signal.removeEventListener('abort', onAbort);
        settle();
      };
    });

  void (async () => {
    try {
      for await (const event of api.access.events(principal, runId, afterSeq, reading.signal)) {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify(event), onFlushed);
        if (ws.bufferedAmount > config.maxBufferedBytes && !(await waitForDrain())) {
          // A reader this slow would hold the stream forever: drop it; it resumes by seq.
          ws.close(closeCodes.slowConsumer, 'slow consumer: reconnect with last_seq');
          return;
        }
      }
      if (ws.readyState === ws.OPEN) ws.close(closeCodes.runEnded, 'run ended');
    } catch (error) {
      const failure = api.describe(error, `Streaming run ${runId} over WebSocket`, { runId });
      sendError(failure.code, failure.message);
      ws.close(1011, 'stream failed');
    } finally {
      reading.abort();
    }
  })();
}
