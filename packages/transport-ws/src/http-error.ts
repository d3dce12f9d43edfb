import { isStewardError, type StewardErrorCode } from '@steward/core';

/** The `code` of an API error body. Steward's own codes pass through; these are the transport's. */
export type HttpErrorCode =
  | StewardErrorCode
  | 'unauthorized'
  | 'forbidden'
  | 'invalid_request'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed';

/** The JSON body of every error response: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  readonly error: {
    readonly code: HttpErrorCode;
    readonly message: string;
    readonly details?: Readonly<Record<string, unknown>>;
  };
}

/** An error with its HTTP status, thrown by handlers and turned into an {@link ErrorBody} response. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly code: HttpErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: HttpErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
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
  session_busy: 409,
  rate_limited: 429,
  storage_error: 503,
};

/** Maps anything a handler threw to an {@link HttpError}; unknown failures become a 500 without internals. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isStewardError(error)) {
    const status = statusOf[error.code] ?? 500;
    const retryAfterMs = error.details.retryAfterMs;
    const headers: Record<string, string> =
      typeof retryAfterMs === 'number'
        ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
        : {};
    // Details of a 5xx may hold internals (queries, driver text): only the code goes out.
    const details = status < 500 ? { ...error.details } : undefined;
    return new HttpError(status, error.code, status === 500 ? 'Internal error' : error.message, {
      ...(details === undefined || Object.keys(details).length === 0 ? {} : { details }),
      headers,
    });
  }
  return new HttpError(500, 'internal_error', 'Internal error');
}
