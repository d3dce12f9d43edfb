import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
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
      init.body = Readable.toWeb(request) as ReadableStream<Uint8Array>;
      init.duplex = 'half';
    }
  }
  return new Request(url, init);
}
