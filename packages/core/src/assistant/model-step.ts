import pRetry, { AbortError } from 'p-retry';
import { isStewardError, StewardError, toStewardError } from '../errors/steward-error.ts';
import type { Usage } from '../events/usage.ts';
import { delay, raceAbort } from '../internal/abort.ts';
import { TextCleaner, toStorableText } from '../internal/storable-text.ts';
import type { LanguageModel, ModelFinishReason, ModelToolSpec } from '../model/language-model.ts';
import type { Message, ToolCall } from '../model/message.ts';
import type { RetryPolicy } from './assistant-options.ts';

/** @internal What one model call produced. */
export interface ModelStepOutcome {
  readonly text: string;
  readonly toolCalls: readonly ToolCall[];
  readonly usage: Usage | undefined;
  readonly finishReason: ModelFinishReason;
}

/** @internal */
export interface ModelStepOptions {
  readonly model: LanguageModel;
  readonly messages: readonly Message[];
  readonly tools: readonly ModelToolSpec[];
  readonly maxOutputTokens: number | undefined;
  readonly retry: RetryPolicy;
  readonly stallTimeoutMs: number;
  /** The run's signal: abort, run timeout. */
  readonly signal: AbortSignal;
  /** Called for each text delta as it arrives. */
  readonly onText: (text: string) => void;
  readonly onRetry: (error: StewardError, attempt: number, delayMs: number) => void;
}

/**
 * @internal Watches a stream for silence. Resetting is a timestamp write, not a timer per chunk:
 * the timer only re-arms itself when it fires early.
 */
class StallWatch {
  #last = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #timeoutMs: number;
  readonly #onStall: () => void;

  constructor(timeoutMs: number, onStall: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#onStall = onStall;
    this.#arm(timeoutMs);
  }

  touch(): void {
    this.#last = performance.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const idle = performance.now() - this.#last;
      if (idle >= this.#timeoutMs) this.#onStall();
      else this.#arm(this.#timeoutMs - idle);
    }, ms);
  }
}

/**
 * @internal One model call, streamed. Failures before any output are retried with exponential
 * backoff and jitter (p-retry), waiting at least as long as the provider's Retry-After. Once text
 * or a tool call has been emitted, a failure is not retried: the caller already showed that
 * output, and a second attempt would repeat it.
 */
export async function runModelStep(options: ModelStepOptions): Promise<ModelStepOutcome> {
  return pRetry(() => attemptModelStep(options), {
    retries: options.retry.retries,
    minTimeout: options.retry.minTimeoutMs,
    maxTimeout: options.retry.maxTimeoutMs,
    factor: 2,
    randomize: true,
    signal: options.signal,
    shouldRetry: ({ error }) => isStewardError(error) && error.retryable,
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft, retryDelay }) => {
      if (retriesLeft === 0 || !isStewardError(error) || !error.retryable) return;
      const retryAfterMs = typeof error.details.retryAfterMs === 'number' ? error.details.retryAfterMs : 0;
      const extra = Math.max(0, retryAfterMs - retryDelay);
      options.onRetry(error, attemptNumber, retryDelay + extra);
      if (extra > 0) await delay(extra, options.signal);
    },
  });
}

async function attemptModelStep(options: ModelStepOptions): Promise<ModelStepOutcome> {
  // One plain controller linked by hand rather than AbortSignal.any(): fetch reads `signal.aborted`
  // per body chunk, and a composite signal's getter costs enough to show in the token-stream bench.
  const attempt = new AbortController();
  const signal = attempt.signal;
  const forwardRunAbort = () => attempt.abort(options.signal.reason);
  if (options.signal.aborted) forwardRunAbort();
  else options.signal.addEventListener('abort', forwardRunAbort, { once: true });
  const watch = new StallWatch(options.stallTimeoutMs, () => {
    attempt.abort(
      new StewardError(
        'model_stream_stalled',
        `The model stream sent nothing for ${options.stallTimeoutMs} ms`,
      ),
    );
  });
  let text = '';
  const toolCalls: ToolCall[] = [];
  let usage: Usage | undefined;
  let finishReason: ModelFinishReason = 'stop';
  let produced = false;
  let settled = false;
  // A model may stream NUL or lone surrogates, which no storage keeps: they become U+FFFD here,
  // once, so every token event, the final text and the stored message agree and can be stored.
  const cleaner = new TextCleaner();
  const consume = async () => {
    const stream = options.model.doStream({
      messages: options.messages,
      tools: options.tools,
      ...(options.maxOutputTokens === undefined ? {} : { maxOutputTokens: options.maxOutputTokens }),
      signal,
    });
    for await (const part of stream) {
      if (settled) return; // The race already ended this attempt; a late part must not leak out.
      watch.touch();
      switch (part.type) {
        case 'text-delta': {
          produced = true;
          const delta = cleaner.push(part.text);
          if (delta === '') break;
          text += delta;
          options.onText(delta);
          break;
        }
        case 'tool-call':
          produced = true;
          toolCalls.push({
            callId: toStorableText(part.callId),
            name: toStorableText(part.name),
            arguments: toStorableText(part.arguments),
          });
          break;
        case 'usage':
          usage = part.usage;
          break;
        case 'finish':
          finishReason = part.reason;
          break;
        case 'keep-alive':
          break;
      }
      if (signal.aborted) break;
    }
    const rest = cleaner.end();
    if (rest !== '' && !settled && !signal.aborted) {
      text += rest;
      options.onText(rest);
    }
  };
  try {
    // Raced as a whole (not per part): a model that ignores its signal still cannot hold the run.
    await raceAbort(consume(), signal);
    if (signal.aborted) throw signal.reason;
  } catch (caught) {
    // The run's own abort (stop, timeout) wins over whatever the stream threw on its way out.
    const error = toStewardError(signal.aborted ? signal.reason : caught, 'model_unavailable');
    if (produced || options.signal.aborted) throw new AbortError(error);
    throw error;
  } finally {
    settled = true;
    watch.stop();
    options.signal.removeEventListener('abort', forwardRunAbort);
  }
  return { text, toolCalls, usage, finishReason };
}
