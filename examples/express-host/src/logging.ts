import type { IncomingMessage, ServerResponse } from 'node:http';
import { trace } from '@opentelemetry/api';
import type { StewardError, StewardEvent } from '@steward/core';
import pino, { type DestinationStream, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';

const censor = '[redacted]';

/**
 * The host's JSON logs (pino): `level` as a word, ISO times, the active span's `trace_id` on
 * every line, and credentials redacted: the request headers that carry them (session cookie,
 * bearer token) and the sensitive keys of tool arguments.
 */
export function createHostLogger(options: { destination?: DestinationStream; level?: string } = {}): Logger {
  const sensitive = [
    'password',
    'token',
    'access_token',
    'refresh_token',
    'secret',
    'client_secret',
    'api_key',
  ];
  return pino(
    {
      level: options.level ?? 'info',
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          ...sensitive.map((key) => `arguments.${key}`),
        ],
        censor,
      },
      mixin() {
        const span = trace.getActiveSpan()?.spanContext();
        return span === undefined || !trace.isSpanContextValid(span) ? {} : { trace_id: span.traceId };
      },
    },
    options.destination ?? process.stdout,
  );
}

/** One line per answered request (`request_finished`), its URL's credentials (`token`, `code`) masked. */
export function createRequestLog(
  logger: Logger,
): (request: IncomingMessage, response: ServerResponse) => void {
  return pinoHttp({
    logger,
    autoLogging: { ignore: (request) => (request.url ?? '').startsWith('/healthz') },
    customSuccessMessage: () => 'request_finished',
    customErrorMessage: () => 'request_failed',
    serializers: {
      req: (request: { id: unknown; method: string; url: string; headers: Record<string, unknown> }) => ({
        id: request.id,
        method: request.method,
        url: maskUrl(request.url),
        headers: { authorization: request.headers.authorization, cookie: request.headers.cookie },
      }),
      res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
    },
  });
}

/** A URL whose credential-like query parameters (a run token, an OAuth code) are masked. */
export function maskUrl(url: string): string {
  const [path, query] = url.split('?', 2);
  if (query === undefined) return url;
  const parameters = new URLSearchParams(query);
  for (const name of [...parameters.keys()])
    if (/token|secret|key|code|password|state/i.test(name)) parameters.set(name, censor);
  return `${path}?${parameters.toString()}`;
}

/** What {@link logRuns} needs of the assistant. */
export interface LoggedAssistant {
  on(event: 'event', listener: (event: StewardEvent) => void): unknown;
  on(event: 'warning', listener: (warning: StewardError) => void): unknown;
}

/** A line per run milestone, each with the run's `run_id`, `session_id`, `user_id` and `trace_id`. */
export function logRuns(assistant: LoggedAssistant, logger: Logger): void {
  const runs = new Map<string, Logger>();
  const of = (runId: string) => runs.get(runId) ?? logger.child({ run_id: runId });
  assistant.on('event', (event) => {
    switch (event.type) {
      case 'run_started': {
        const child = logger.child({
          run_id: event.run_id,
          session_id: event.session_id,
          user_id: event.user_id,
        });
        runs.set(event.run_id, child);
        child.info('run_started');
        break;
      }
      case 'tool_request':
        of(event.run_id).info(
          { call_id: event.call_id, tool: event.tool_slug, arguments: event.args },
          'tool_requested',
        );
        break;
      case 'tool_result':
        of(event.run_id).info(
          {
            call_id: event.call_id,
            tool: event.tool_slug,
            outcome: event.error?.code ?? 'ok',
            duration_ms: event.duration_ms,
          },
          'tool_finished',
        );
        break;
      case 'error':
        of(event.run_id).warn({ code: event.code }, 'run_error');
        break;
      case 'final':
        of(event.run_id).info({ stop_reason: event.stop_reason, usage: event.usage }, 'run_finished');
        runs.delete(event.run_id);
        break;
      default:
        break;
    }
  });
  assistant.on('warning', (warning) => {
    const runId = warning.details.runId;
    (typeof runId === 'string' ? of(runId) : logger).warn(
      { code: warning.code, message: warning.message },
      'assistant_warning',
    );
  });
}
