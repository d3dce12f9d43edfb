/** A fault the mock injects instead of (or in the middle of) a normal reply. */
export type MockFault =
  /** HTTP 429 with an OpenAI error body, and `retry-after` / `retry-after-ms` headers when set. */
  | { readonly type: 'rate_limit'; readonly retryAfterSeconds?: number; readonly retryAfterMs?: number }
  /** An HTTP error status (default 500) with an OpenAI error body. */
  | { readonly type: 'http_error'; readonly status?: number; readonly message?: string }
  /** Streams `afterChunks` chunks, then goes silent with the connection open. */
  | { readonly type: 'stall'; readonly afterChunks: number }
  /** Streams `afterChunks` chunks, then destroys the socket mid-stream. */
  | { readonly type: 'disconnect'; readonly afterChunks: number }
  /** Streams `afterChunks` chunks, then a chunk that is not JSON. */
  | { readonly type: 'malformed'; readonly afterChunks: number };

/** A scripted tool call. `arguments` may be an object (serialized) or raw text (sent as is, e.g. broken JSON). */
export interface MockToolCall {
  readonly name: string;
  readonly arguments: unknown;
  readonly id?: string;
}

/** One scripted reply of the mock server. */
export interface MockReply {
  /** Answer text, streamed in word-sized deltas. */
  readonly text?: string;
  /** Explicit text deltas (overrides `text`). */
  readonly deltas?: readonly string[];
  readonly toolCalls?: readonly MockToolCall[];
  /** Default: `tool_calls` when there are tool calls, else `stop`. `length` ends a Responses stream as incomplete. */
  readonly finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  /** Overrides the counted usage. */
  readonly usage?: { readonly inputTokens?: number; readonly outputTokens?: number };
  /** Characters of tool-call arguments per chunk (default 8), so arguments span many chunks. */
  readonly argumentChunkSize?: number;
  /** Interleave the argument chunks of parallel tool calls (Chat Completions), as some servers do. */
  readonly interleaveToolCalls?: boolean;
  /** Delay between chunks. */
  readonly chunkDelayMs?: number;
  readonly fault?: MockFault;
}

/** A request the mock received, for assertions. */
export interface MockRequest {
  readonly api: 'chat' | 'responses';
  readonly stream: boolean;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** True once the client closed the connection before the reply was fully sent (e.g. it aborted). */
  readonly clientClosedEarly: boolean;
}

/** Builds the reply for a request when no scripted reply is queued. */
export type MockReplyHandler = (request: MockRequest) => MockReply;

/** @internal Splits text into word-sized deltas, like a tokenizer would roughly. */
export function toDeltas(reply: MockReply): string[] {
  if (reply.deltas !== undefined) return [...reply.deltas];
  return reply.text === undefined || reply.text === '' ? [] : (reply.text.match(/\s*\S+|\s+$/g) ?? []);
}

/** @internal The wire text of a tool call's arguments. */
export function argumentText(call: MockToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

/** @internal Splits `text` into pieces of `size` characters. */
export function chunkText(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let index = 0; index < text.length; index += size) pieces.push(text.slice(index, index + size));
  return pieces.length === 0 ? [''] : pieces;
}
