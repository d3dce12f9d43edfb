import { StewardError } from '../errors/steward-error.ts';
import type { Usage } from '../events/usage.ts';
import { delay, raceAbort } from '../internal/abort.ts';
import type {
  LanguageModel,
  ModelFinishReason,
  ModelRequest,
  ModelStreamPart,
} from '../model/language-model.ts';

/**
 * A scripted tool call. `arguments` may be an object (serialized to JSON) or raw text (sent as is,
 * e.g. broken JSON), as in `@steward/testing`'s `MockToolCall`.
 */
export type ScriptedToolCall = {
  readonly name: string;
  readonly callId?: string;
} & (
  | { readonly arguments: unknown; readonly args?: never }
  | {
      /** @deprecated Renamed `arguments`, the spelling of the mock OpenAI server and of `tool-call` parts. */
      readonly args: unknown;
      readonly arguments?: never;
    }
);

/** One scripted model reply. */
export interface ScriptedReply {
  /** Streamed word by word as `text-delta` parts. */
  readonly text?: string;
  readonly toolCalls?: readonly ScriptedToolCall[];
  readonly usage?: Usage;
  readonly finishReason?: ModelFinishReason;
  /** Wait this long before each text delta. */
  readonly delayMs?: number;
  /** Wait for this before streaming anything (or until the run is aborted): a reply the test releases. */
  readonly waitFor?: PromiseLike<unknown>;
  /** Thrown before anything is streamed (e.g. a retryable StewardError). */
  readonly error?: unknown;
  /** Thrown after the text was streamed. */
  readonly errorAfterText?: unknown;
  /** After the text, go silent until aborted: a stalled stream. */
  readonly stallAfterText?: boolean;
}

/** A scripted step: a reply, or a function of the request that returns one. */
export type ScriptedStep = ScriptedReply | ((request: ModelRequest) => ScriptedReply);

/** A `LanguageModel` that plays back a script and records every request it got. */
export interface ScriptedModel extends LanguageModel {
  /** The requests received so far, in order. */
  readonly requests: readonly ModelRequest[];
}

/**
 * A model for tests: replies come from `steps`, one per model call, with no network.
 *
 * @example
 * ```ts
 * const model = createScriptedModel([
 *   { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] },
 *   { text: 'It is sunny in Paris.' },
 * ]);
 * ```
 */
export function createScriptedModel(steps: readonly ScriptedStep[]): ScriptedModel {
  const requests: ModelRequest[] = [];
  let callCount = 0;
  return {
    specificationVersion: 'v1',
    provider: 'scripted',
    modelId: 'scripted',
    requests,
    async *doStream(request: ModelRequest): AsyncIterable<ModelStreamPart> {
      requests.push(request);
      const step = steps[callCount++];
      if (step === undefined) throw new StewardError('model_error', `The script has no step ${callCount}`);
      const reply = typeof step === 'function' ? step(request) : step;
      if (reply.waitFor !== undefined) await raceAbort(Promise.resolve(reply.waitFor), request.signal);
      if (reply.error !== undefined) throw reply.error;
      for (const word of (reply.text ?? '').match(/\S+\s*|\s+/g) ?? []) {
        if (reply.delayMs !== undefined) await delay(reply.delayMs, request.signal);
        yield { type: 'text-delta', text: word };
      }
      if (reply.errorAfterText !== undefined) throw reply.errorAfterText;
      if (reply.stallAfterText === true) {
        await new Promise((_resolve, reject) => {
          if (request.signal.aborted) reject(request.signal.reason);
          request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
        });
      }
      const calls = reply.toolCalls ?? [];
      for (const [index, call] of calls.entries()) {
        const value = call.arguments === undefined ? call.args : call.arguments;
        yield {
          type: 'tool-call',
          callId: call.callId ?? `call_${callCount}_${index}`,
          name: call.name,
          arguments: typeof value === 'string' ? value : JSON.stringify(value),
        };
      }
      yield { type: 'usage', usage: reply.usage ?? { input_tokens: 10, output_tokens: 5, total_tokens: 15 } };
      yield { type: 'finish', reason: reply.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop') };
    },
  };
}
