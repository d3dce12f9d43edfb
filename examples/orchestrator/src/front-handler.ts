import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NodeHandler } from '@steward/transport-ws';
import { pinoHttp } from 'pino-http';
import { type Logger, redactUrl } from './logger.ts';
import type { OrchestratorMetrics } from './metrics.ts';
import { withTimeout } from './timing.ts';

/** Options of {@link createFrontHandler}. */
export interface FrontHandlerOptions {
  /** The Steward API (`toNodeHandler(api)`): everything that is not a probe goes there. */
  readonly api: NodeHandler;
  /** Dependencies `/readyz` checks; each resolves when reachable. */
  readonly checks: Readonly<Record<string, () => Promise<unknown>>>;
  /** Extra, informational fields of the `/readyz` body (they never make it fail). */
  readonly details?: () => Record<string, unknown>;
  readonly isDraining: () => boolean;
  readonly logger: Logger;
  /** Served at `GET /metrics`; also told of open SSE streams. */
  readonly metrics: OrchestratorMetrics;
  /** Answers `GET /api/v1/usage` (the caller's tokens and cost by day and session). */
  readonly usage?: (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>;
  /** How long one readiness check may take. Default 2,000 ms. */
  readonly checkTimeoutMs?: number;
}

/**
 * The node:http listener in front of the Steward API: `GET /healthz` (the process is alive, even
 * while draining), `GET /readyz` (Postgres and Redis answer, and the instance is not draining),
 * and, while draining, a 503 for the requests that would start work here (a new run, or an
 * approval, which may resume a paused run here). The API has no drain hook, so this sits in front.
 */
export function createFrontHandler(options: FrontHandlerOptions) {
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;

  async function readiness(): Promise<{ status: number; body: Record<string, unknown> }> {
    if (options.isDraining()) return { status: 503, body: { status: 'draining' } };
    const results = await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), checkTimeoutMs, `${name} did not answer within ${checkTimeoutMs} ms`);
          return [name, 'ok'] as const;
        } catch (error) {
          options.logger.warn('readiness_check_failed', { check: name, error });
          return [name, 'unreachable'] as const; // The probe is public: details go to the log only.
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    return {
      status: ready ? 200 : 503,
      body: {
        status: ready ? 'ready' : 'unready',
        checks: Object.fromEntries(results),
        ...options.details?.(),
      },
    };
  }

  // One line per request once it is answered; probes and scrapes are not worth a line each.
  const requestLog = pinoHttp({
    logger: options.logger.pino,
    autoLogging: {
      ignore: (request) => quietPaths.has(URL.parse(request.url ?? '/', 'http://x')?.pathname ?? ''),
    },
    customSuccessMessage: () => 'request_finished',
    customErrorMessage: () => 'request_failed',
    customLogLevel: (_request, response, error) =>
      error !== undefined || response.statusCode >= 500
        ? 'error'
        : response.statusCode >= 400
          ? 'warn'
          : 'info',
    serializers: {
      req: (request: { id: unknown; method: string; url: string; headers: Record<string, unknown> }) => ({
        id: request.id,
        method: request.method,
        url: redactUrl(request.url),
        headers: {
          authorization: request.headers.authorization,
          'user-agent': request.headers['user-agent'],
        },
      }),
      res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
    },
  });

  return (request: IncomingMessage, response: ServerResponse): void => {
    requestLog(request, response);
    const url = URL.parse(request.url ?? '/', 'http://localhost');
    const path = url?.pathname;
    const probe = request.method === 'GET' || request.method === 'HEAD';
    if (probe && path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => {
          response.writeHead(200, {
            'content-type': options.metrics.registry.contentType,
            'cache-control': 'no-store',
          });
          response.end(request.method === 'HEAD' ? undefined : text);
        },
        () => send(response, 500, { status: 'metrics_failed' }),
      );
      return;
    }
    if (request.method === 'GET' && path === '/api/v1/usage' && url !== null && options.usage !== undefined) {
      options.usage(request, response, url).catch((error: unknown) => {
        options.logger.warn('usage_report_failed', { error });
        if (!response.headersSent)
          send(response, 503, { error: { code: 'storage_error', message: 'Storage failed; try again.' } });
      });
      return;
    }
    if (request.headers.accept?.includes('text/event-stream') === true) {
      options.metrics.openStreams.inc({ kind: 'sse' });
      response.once('close', () => options.metrics.openStreams.dec({ kind: 'sse' }));
    }
    if (probe && path === '/healthz') {
      send(response, 200, { status: options.isDraining() ? 'draining' : 'ok' });
      return;
    }
    if (probe && path === '/readyz') {
      readiness().then(
        ({ status, body }) => send(response, status, body),
        () => send(response, 503, { status: 'unready' }),
      );
      return;
    }
    if (path !== undefined && options.isDraining() && startsWork(request.method ?? 'GET', path)) {
      send(response, 503, shuttingDown, { 'retry-after': '1', connection: 'close' });
      return;
    }
    options.api(request, response);
  };
}

const quietPaths = new Set(['/healthz', '/readyz', '/metrics']);

const shuttingDown = {
  error: {
    code: 'shutting_down',
    message: 'This instance is shutting down: send new runs and approvals to another instance',
  },
};

/**
 * `POST /api/v1/respond` and `POST /api/v1/runs/:id/approvals`, matched the way the API matches
 * routes (empty segments ignored), so no spelling of the path slips past the gate.
 */
function startsWork(method: string, path: string): boolean {
  if (method !== 'POST') return false;
  const segments = path.split('/').filter((part) => part !== '');
  if (segments[0] !== 'api' || segments[1] !== 'v1') return false;
  return (
    (segments.length === 3 && segments[2] === 'respond') ||
    (segments.length === 5 && segments[2] === 'runs' && segments[4] === 'approvals')
  );
}

/** Answers a WebSocket upgrade with 503 while draining: the client resumes on another instance. */
export function refuseUpgrade(_request: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  const body = JSON.stringify(shuttingDown);
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`,
  );
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}
