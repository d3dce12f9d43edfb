import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { isStewardError, StewardError } from '../../errors/steward-error.ts';

/** Reads Retry-After (`retry-after-ms`, seconds, or an HTTP date) into milliseconds. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const milliseconds = headers?.get('retry-after-ms');
  if (milliseconds) {
    const value = Number.parseFloat(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const header = headers?.get('retry-after');
  if (!header) return undefined;
  const seconds = Number.parseFloat(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * Maps what the `openai` package throws to a {@link StewardError}: 429 → `model_rate_limited`
 * (with `retryAfterMs`), 408/409/5xx and connection failures → `model_unavailable` (retryable),
 * other statuses → `model_error`.
 */
export function toModelError(error: unknown): StewardError {
  if (isStewardError(error)) return error;
  if (error instanceof APIUserAbortError) {
    return new StewardError('run_aborted', 'The model request was aborted', { cause: error });
  }
  if (error instanceof APIConnectionError) {
    return new StewardError('model_unavailable', `Could not reach the model: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const details: Record<string, unknown> = { status };
    const requestId = error.headers?.get('x-request-id');
    if (requestId) details.requestId = requestId;
    if (status === 429) {
      const wait = retryAfterMs(error.headers);
      if (wait !== undefined) details.retryAfterMs = wait;
      return new StewardError('model_rate_limited', `The model provider is rate limiting: ${error.message}`, {
        cause: error,
        details,
      });
    }
    const retryable = status === 408 || status === 409 || status >= 500;
    return new StewardError(
      retryable ? 'model_unavailable' : 'model_error',
      `The model provider answered ${error.message}`,
      {
        cause: error,
        details,
        retryable,
      },
    );
  }
  if (error instanceof APIError) {
    // No status: the provider reported the error inside the stream (an SSE `error` event).
    const providerCode =
      typeof error.code === 'string' ? error.code : typeof error.type === 'string' ? error.type : undefined;
    const details = providerCode === undefined ? {} : { providerCode };
    if (providerCode === 'rate_limit_exceeded') {
      return new StewardError('model_rate_limited', `The model provider is rate limiting: ${error.message}`, {
        cause: error,
        details,
      });
    }
    const retryable =
      providerCode === 'server_error' || providerCode === 'overloaded' || providerCode === undefined;
    return new StewardError(
      retryable ? 'model_unavailable' : 'model_error',
      `The model stream reported: ${error.message}`,
      {
        cause: error,
        details,
        retryable,
      },
    );
  }
  // A stream cut mid-way surfaces as a plain error from the body reader: worth another try.
  const message = error instanceof Error ? error.message : String(error);
  return new StewardError('model_unavailable', `The model stream failed: ${message}`, { cause: error });
}
