import type { StewardErrorCode, ToolErrorCode } from './error-codes.ts';

const marker = Symbol.for('steward.error');

/** Options of {@link StewardError}. */
export interface StewardErrorOptions {
  /** Whether the same request may succeed if tried again later. Defaults from the code. */
  retryable?: boolean;
  /** The underlying error, kept for logs and `error.cause`. */
  cause?: unknown;
  /** Machine-readable context, e.g. zod `issues` or `retryAfterMs`. */
  details?: Record<string, unknown>;
}

const retryableByDefault: ReadonlySet<StewardErrorCode> = new Set([
  'model_rate_limited',
  'model_unavailable',
  'model_stream_stalled',
  'tool_timeout',
  'tool_unavailable',
  'run_timeout',
  'run_interrupted',
  'rate_limited',
  'too_many_active_runs',
]);

/**
 * The one error type Steward throws or reports. `code` says what went wrong,
 * `retryable` whether trying again can help.
 *
 * @example
 * ```ts
 * if (isStewardError(error) && error.code === 'model_rate_limited') wait(error.details.retryAfterMs);
 * ```
 */
export class StewardError extends Error {
  override readonly name = 'StewardError';
  readonly code: StewardErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;
  readonly [marker] = true;

  constructor(code: StewardErrorCode, message: string, options: StewardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? retryableByDefault.has(code);
    this.details = options.details ?? {};
  }

  /** Checks the cross-realm marker, so guards survive duplicate copies of this package. */
  static isInstance(value: unknown): value is StewardError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** True for any {@link StewardError}, optionally of one code. */
export function isStewardError(value: unknown, code?: StewardErrorCode): value is StewardError {
  return StewardError.isInstance(value) && (code === undefined || value.code === code);
}

/** A {@link StewardError} whose code is a tool failure (`tool_*`). */
export type ToolError = StewardError & { readonly code: ToolErrorCode };

/** True for a {@link StewardError} describing a failed tool call. */
export function isToolError(value: unknown): value is ToolError {
  return StewardError.isInstance(value) && value.code.startsWith('tool_');
}

/** @internal Wraps anything thrown into a StewardError, keeping it as `cause`. */
export function toStewardError(value: unknown, fallback: StewardErrorCode = 'internal_error'): StewardError {
  if (StewardError.isInstance(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new StewardError(fallback, message, { cause: value });
}
