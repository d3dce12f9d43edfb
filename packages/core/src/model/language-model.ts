import type { Usage } from '../events/usage.ts';
import type { Message, ToolCall } from './message.ts';

/** A tool as the model is shown it: a name, what it is for, and the JSON Schema of its arguments. */
export interface ModelToolSpec {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

/** One model call. `messages` already holds the system prompt, memories and the history window. */
export interface ModelRequest {
  readonly messages: readonly Message[];
  readonly tools: readonly ModelToolSpec[];
  readonly maxOutputTokens?: number;
  /** Aborts the HTTP request and the stream: adapters must pass it down. */
  readonly signal: AbortSignal;
}

/** Why the model stopped producing output in one call. */
export type ModelFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'other';

/**
 * What a model stream yields. Tool calls arrive whole: adapters assemble argument deltas
 * themselves, so the run loop never sees half a call.
 */
export type ModelStreamPart =
  | { readonly type: 'text-delta'; readonly text: string }
  | ({ readonly type: 'tool-call' } & ToolCall)
  | { readonly type: 'usage'; readonly usage: Usage }
  | { readonly type: 'finish'; readonly reason: ModelFinishReason }
  /** The provider sent something with no output yet (argument pieces, reasoning): the stream is alive. */
  | { readonly type: 'keep-alive' };

/**
 * The model seam. An adapter streams one completion per call and throws a {@link StewardError}
 * (`model_rate_limited`, `model_unavailable`, `model_error`) when the provider fails, with
 * `retryable` set and `details.retryAfterMs` when the provider said how long to wait. The run loop
 * owns retries, timeouts and stall detection, so adapters stay thin.
 *
 * The `do` prefix marks a method for the run loop, not for application code.
 */
export interface LanguageModel {
  readonly specificationVersion: 'v1';
  /** e.g. `openai.chat`, `openai.responses`. */
  readonly provider: string;
  readonly modelId: string;
  doStream(request: ModelRequest): AsyncIterable<ModelStreamPart>;
}
