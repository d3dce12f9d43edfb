import { isStewardError } from '@steward/core';

/** Structured logs: one JSON object a line, `msg` an event name, fields in camelCase. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Writes info to stdout and warnings and errors to stderr, as a container runtime expects. */
export function createLogger(
  output: { write(line: string): unknown } = process.stdout,
  errors: { write(line: string): unknown } = process.stderr,
): Logger {
  const write = (level: string, message: string, fields: Record<string, unknown> = {}) => {
    const line = JSON.stringify(
      { time: new Date().toISOString(), level, msg: message, ...fields },
      (_key, value) => (value instanceof Error ? describeError(value) : value),
    );
    (level === 'info' ? output : errors).write(`${line}\n`);
  };
  return {
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

function describeError(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    ...(isStewardError(error) ? { code: error.code, retryable: error.retryable } : {}),
    ...(error.cause instanceof Error ? { cause: describeError(error.cause) } : {}),
  };
}
