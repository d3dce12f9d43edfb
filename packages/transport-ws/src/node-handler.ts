import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StewardApi } from './api.ts';

/** A node:http request listener that is also Express middleware (`app.use(handler)`). */
export type NodeHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/**
 * Serves a {@link StewardApi} from node:http or Express. Paths that are not the API's go to
 * `next` (Express) or get a 404. Streams are written as the client drains them, and a client
 * that goes away cancels its stream (never the run).
 *
 * @example
 * ```ts
 * const app = express();
 * app.use(toNodeHandler(api));
 * attachWebSocket(app.listen(3000), api);
 * ```
 */
export function toNodeHandler(api: StewardApi): NodeHandler {
  return (request, response, next) => {
    serve(api, request, response, next).catch((error: unknown) => {
      if (next !== undefined) next(error);
      else if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'internal_error', message: 'Internal error' } }));
      } else response.destroy();
    });
  };
}

async function serve(
  api: StewardApi,
  request: IncomingMessage,
  response: ServerResponse,
  next: ((error?: unknown) => void) | undefined,
): Promise<void> {
  const controller = new AbortController();
  response.once('close', () => controller.abort());
  const webRequest = toWebRequest(request, controller.signal);
  if (webRequest === undefined) {
    response.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
    response.end(
      JSON.stringify({ error: { code: 'invalid_request', message: 'The request URL is malformed' } }),
    );
    return;
  }
  const answer = next === undefined ? await api.fetch(webRequest) : await api.handle(webRequest);
  if (answer === undefined) {
    next?.();
    return;
  }
  // An answer given before the body was read (401, 413, 415) leaves the rest of it on the
  // connection: read it away, so the client can send its next request on the same connection.
  response.once('finish', () => discardUnread(request));
  const headers: Record<string, string | string[]> = {};
  answer.headers.forEach((value, name) => {
    headers[name] = value;
  });
  response.writeHead(answer.status, headers);
  if (answer.body === null) {
    response.end();
    return;
  }
  response.flushHeaders();
  const reader = answer.body.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  response.once('close', cancel);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      // Backpressure: wait for the socket to drain before reading the next chunk.
      if (!response.write(value)) await drained(response);
      if (response.destroyed) return;
    }
    response.end();
  } finally {
    response.off('close', cancel);
  }
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

function toWebRequest(request: IncomingMessage, signal: AbortSignal): Request | undefined {
  // A malformed Host header or request target is the client's error, never a crash or a 500.
  const url =
    URL.parse(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`) ??
    URL.parse(request.url ?? '/', 'http://localhost');
  if (url === null) return undefined;
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  const method = request.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (method !== 'GET' && method !== 'HEAD') {
    // Express body parsers consume the stream and leave `body`: hand that on instead.
    const parsed = (request as IncomingMessage & { body?: unknown }).body;
    if (parsed !== undefined && request.readableEnded) {
      init.body =
        typeof parsed === 'string'
          ? parsed
          : parsed instanceof Uint8Array
            ? new Uint8Array(parsed)
            : JSON.stringify(parsed);
      headers.delete('content-length');
    } else {
      init.body = bodyStream(request);
      init.duplex = 'half';
    }
  }
  return new Request(url, init);
}

/** How much of a body nobody read is read away after the answer before the connection is dropped. */
const maxDiscardBytes = 8 * 1024 * 1024;

/**
 * The request body as a web stream that reads only when pulled. Unlike `Readable.toWeb`, giving
 * up on it (a body past the size limit) does not destroy the request, so the answer still goes
 * out on the connection.
 */
function bodyStream(request: IncomingMessage): ReadableStream<Uint8Array> {
  let listening = false;
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!listening) {
          listening = true;
          request.on('data', (chunk: Buffer) => {
            if (cancelled) return;
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if ((controller.desiredSize ?? 0) <= 0) request.pause();
          });
          request.once('end', () => {
            if (!cancelled) controller.close();
          });
          request.once('error', (error) => {
            if (!cancelled) controller.error(error);
          });
        }
        request.resume();
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads away what is left of a request's body, up to a bound; past it, the connection goes. */
function discardUnread(request: IncomingMessage): void {
  if (request.complete || request.destroyed) return;
  let discarded = 0;
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > maxDiscardBytes) request.socket.destroy();
  });
  request.resume();
}
