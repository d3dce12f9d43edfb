import { trace } from '@opentelemetry/api';
import { isStewardError } from '@steward/core';
import pino, { type DestinationStream } from 'pino';

/** Structured logs: one JSON object a line, `msg` an event name, fields beside it. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line carries `bindings` (a run's ids, a request's id). */
  child(bindings: Record<string, unknown>): Logger;
  /** The pino logger underneath, for pino-http. */
  readonly pino: pino.Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Where info lines go. Default: stdout. */
  readonly output?: DestinationStream;
  /** Where warnings and errors go. Default: stderr, as a container runtime expects. */
  readonly errors?: DestinationStream;
  /** Tool argument names whose values never reach a log line, besides {@link defaultSensitiveKeys}. */
  readonly sensitiveKeys?: readonly string[];
  /** Least severe level written. Default `info`. */
  readonly level?: string;
}

/** Argument and field names redacted wherever they appear in a tool call's arguments. */
export const defaultSensitiveKeys: readonly string[] = [
  'password',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'secret',
  'client_secret',
  'api_key',
  'apiKey',
  'authorization',
  'cookie',
];

const censor = '[redacted]';

/**
 * pino underneath: warnings and errors to stderr, the rest to stdout; `level` as a word; errors
 * (any field holding one) described without their stacks; the active span's `trace_id` and
 * `span_id` on every line written during a traced run or request; credentials redacted: request
 * headers that carry them, and the sensitive keys of tool arguments.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sensitive = [...defaultSensitiveKeys, ...(options.sensitiveKeys ?? [])];
  const identifier = /^[A-Za-z_$][\w$]*$/;
  const argumentPaths = sensitive.flatMap((key) => {
    const path = identifier.test(key) ? `.${key}` : `["${key.replaceAll('"', '\\"')}"]`;
    return [`arguments${path}`, `*.arguments${path}`];
  });
  const base = pino(
    {
      level: options.level ?? 'info',
      messageKey: 'msg',
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-api-key"]',
          'res.headers["set-cookie"]',
          ...argumentPaths,
        ],
        censor,
      },
      mixin() {
        const span = trace.getActiveSpan()?.spanContext();
        return span === undefined || !trace.isSpanContextValid(span)
          ? {}
          : { trace_id: span.traceId, span_id: span.spanId };
      },
      hooks: {
        // Errors may sit under any field name (`error`, `cause`): each is described, never dumped.
        logMethod(args, method) {
          const [first, ...rest] = args;
          if (typeof first === 'object' && first !== null)
            return method.apply(this, [describeFields(first as Record<string, unknown>), ...rest] as never);
          return method.apply(this, args);
        },
      },
    },
    pino.multistream(
      [
        { level: 'trace', stream: options.output ?? process.stdout },
        { level: 'warn', stream: options.errors ?? process.stderr },
      ],
      { dedupe: true },
    ),
  );
  return wrap(base);
}

function wrap(logger: pino.Logger): Logger {
  return {
    info: (message, fields = {}) => logger.info(fields, message),
    warn: (message, fields = {}) => logger.warn(fields, message),
    error: (message, fields = {}) => logger.error(fields, message),
    child: (bindings) => wrap(logger.child(bindings)),
    pino: logger,
  };
}

/**
 * A request URL as it may be logged: the WebSocket's `token` (a bearer credential in the query,
 * as browsers cannot set headers on an upgrade) and any other credential-like parameter masked.
 */
export function redactUrl(url: string): string {
  const [path, query] = url.split('?', 2);
  if (query === undefined) return url;
  const parameters = new URLSearchParams(query);
  for (const name of [...parameters.keys()])
    if (/token|secret|key|code|password/i.test(name)) parameters.set(name, censor);
  return `${path}?${parameters.toString()}`;
}

function describeFields(fields: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (!(value instanceof Error)) continue;
    copy ??= { ...fields };
    copy[key] = describeError(value);
  }
  return copy ?? fields;
}

function describeError(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    ...(isStewardError(error) ? { code: error.code, retryable: error.retryable } : {}),
    ...(error.cause instanceof Error ? { cause: describeError(error.cause) } : {}),
  };
}
