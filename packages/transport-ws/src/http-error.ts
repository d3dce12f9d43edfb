import { isStewardError, StewardError, type StewardErrorCode } from '@steward/core';

/** The `code` of an API error body. Steward's own codes pass through; these are the transport's. */
export type HttpErrorCode =
  | StewardErrorCode
  | 'unauthorized'
  | 'forbidden'
  | 'invalid_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed';

/**
 * The JSON body of every error response: `{ error: { code, message, details?, request_id? } }`.
 * `request_id` names the request in the server's warnings, for failures whose cause stays there.
 */
export interface ErrorBody {
  readonly error: {
    readonly code: HttpErrorCode;
    readonly message: string;
    readonly details?: Readonly<Record<string, unknown>>;
    readonly request_id?: string;
  };
}

/** An error with its HTTP status, thrown by handlers and turned into an {@link ErrorBody} response. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly code: HttpErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Set on failures the server logged (5xx): the id the log has them under. */
  readonly requestId: string | undefined;

  constructor(
    status: number,
    code: HttpErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; requestId?: string } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.requestId = options.requestId;
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
        ...(this.requestId === undefined ? {} : { request_id: this.requestId }),
      },
    };
  }
}

const statusOf: Partial<Record<StewardErrorCode, number>> = {
  invalid_input: 400,
  invalid_options: 400,
  not_found: 404,
  session_not_found: 404,
  approval_not_found: 404,
  approval_conflict: 409,
  approval_expired: 410,
  input_not_found: 404,
  input_conflict: 409,
  authorization_required: 403,
  authorization_failed: 400,
  session_busy: 409,
  rate_limited: 429,
  too_many_active_runs: 429,
  quota_exceeded: 429,
  storage_error: 503,
};

/**
 * What a failure the server logged says to the client, in Steward's words: the adapter's text (a
 * database's error, a stack) stays in the server's warnings, under the request id (REST) or run
 * id (streams) the answer carries.
 */
export const failureMessages = {
  storage_error: 'Storage failed; try again. The server log has the details.',
  internal_error: 'Internal error. The server log has the details.',
} as const;

/** Maps anything a handler threw to an {@link HttpError}; 5xx bodies carry no internals. */
export function toHttpError(error: unknown, requestId?: string): HttpError {
  if (error instanceof HttpError) return error;
  if (isStewardError(error)) {
    const status = statusOf[error.code] ?? 500;
    const retryAfterMs = error.details.retryAfterMs;
    const headers: Record<string, string> =
      typeof retryAfterMs === 'number'
        ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
        : {};
    if (status >= 500) {
      const message = failureMessages[error.code === 'storage_error' ? 'storage_error' : 'internal_error'];
      return new HttpError(status, error.code, message, {
        headers,
        ...(requestId === undefined ? {} : { requestId }),
      });
    }
    // A driver's code (a storage `not_found` carries Postgres's) is no business of the client's.
    const { pgCode: _pgCode, ...details } = error.details;
    return new HttpError(status, error.code, error.message, {
      ...(Object.keys(details).length === 0 ? {} : { details }),
      headers,
    });
  }
  return new HttpError(500, 'internal_error', failureMessages.internal_error, {
    ...(requestId === undefined ? {} : { requestId }),
  });
}

/**
 * The warning a server reports for a failure whose response says only {@link failureMessages}:
 * what failed where, with the original error as its cause.
 */
export function failureWarning(
  error: unknown,
  where: string,
  context: Readonly<Record<string, unknown>>,
): StewardError {
  const code: StewardErrorCode = isStewardError(error) ? error.code : 'internal_error';
  const cause = error instanceof Error ? error.message : String(error);
  return new StewardError(code, `${where} failed: ${cause}`, { cause: error, details: { ...context } });
}
