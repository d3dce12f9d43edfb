import type OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { StewardError } from '../../errors/steward-error.ts';
import type { ModelFinishReason, ModelRequest, ModelStreamPart } from '../language-model.ts';
import type { Message } from '../message.ts';
import { openAbortableStream } from './abortable-stream.ts';
import { toModelError } from './openai-errors.ts';

/** @internal */
export interface ChatSettings {
  readonly modelId: string;
  readonly parallelToolCalls: boolean;
  readonly temperature: number | undefined;
  /** Names a tool call the server sent without an id. */
  readonly generateId: () => string;
}

/** @internal Steward messages → Chat Completions messages. */
export function toChatMessages(messages: readonly Message[]): ChatCompletionMessageParam[] {
  return messages.map(toChatMessage);
}

function toChatMessage(message: Message): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'assistant':
      return message.toolCalls === undefined || message.toolCalls.length === 0
        ? { role: 'assistant', content: message.content }
        : {
            role: 'assistant',
            content: message.content === '' ? null : message.content,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.callId,
              type: 'function' as const,
              function: { name: call.name, arguments: call.arguments },
            })),
          };
    case 'tool':
      return { role: 'tool', tool_call_id: message.callId, content: message.content };
  }
}

const finishReasons: Record<string, ModelFinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

interface PendingCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * @internal Streams one Chat Completions call. Tool-call deltas are keyed by `index` and
 * assembled across chunks (id and name arrive first, arguments in pieces, calls may interleave);
 * each call is yielded whole once the stream ends.
 */
export async function* streamChat(
  client: OpenAI,
  settings: ChatSettings,
  request: ModelRequest,
): AsyncGenerator<ModelStreamPart> {
  let released = () => {};
  // Inline rather than a wrapping generator: one less async hop per streamed part.
  try {
    const tools: ChatCompletionTool[] = request.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: { ...tool.inputSchema } },
    }));
    const { stream, release } = await openAbortableStream(
      client.chat.completions.create(
        {
          model: settings.modelId,
          messages: toChatMessages(request.messages),
          stream: true,
          stream_options: { include_usage: true },
          ...(tools.length === 0 ? {} : { tools, parallel_tool_calls: settings.parallelToolCalls }),
          ...(request.maxOutputTokens === undefined
            ? {}
            : { max_completion_tokens: request.maxOutputTokens }),
          ...(settings.temperature === undefined ? {} : { temperature: settings.temperature }),
        },
        { maxRetries: 0 },
      ),
      request.signal,
    );
    released = release;
    const calls = new Map<number, PendingCall>();
    let finishReason: ModelFinishReason | undefined;
    for await (const chunk of stream) {
      // Compatible servers vary; check shapes cheaply per chunk instead of a schema parse per token.
      if (chunk.usage) {
        const { prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details } = chunk.usage;
        const cached = prompt_tokens_details?.cached_tokens;
        yield {
          type: 'usage',
          usage: {
            input_tokens: prompt_tokens ?? 0,
            output_tokens: completion_tokens ?? 0,
            total_tokens: total_tokens ?? 0,
            ...(typeof cached === 'number' && cached > 0 ? { cached_input_tokens: cached } : {}),
          },
        };
      }
      const choice = chunk.choices?.[0];
      if (choice === undefined) continue;
      const delta = choice.delta;
      if (typeof delta?.content === 'string' && delta.content !== '') {
        yield { type: 'text-delta', text: delta.content };
      } else {
        // Argument pieces and role chunks carry no output yet, but prove the stream is alive.
        yield { type: 'keep-alive' };
      }
      if (delta?.tool_calls) {
        for (const part of delta.tool_calls) {
          const index = typeof part.index === 'number' ? part.index : calls.size;
          let call = calls.get(index);
          if (call === undefined) {
            call = { id: '', name: '', arguments: '' };
            calls.set(index, call);
          }
          if (part.id) call.id = part.id;
          if (part.function?.name) call.name += part.function.name;
          if (part.function?.arguments) call.arguments += part.function.arguments;
        }
      }
      if (choice.finish_reason) finishReason = finishReasons[choice.finish_reason] ?? 'other';
    }
    if (finishReason === undefined) {
      // The connection closed without a finish_reason: the answer is cut, not complete.
      throw new StewardError('model_unavailable', 'The model stream ended before the model finished');
    }
    for (const [index, call] of [...calls.entries()].sort(([a], [b]) => a - b)) {
      if (call.name === '') {
        throw new StewardError('model_error', `The model sent tool call #${index} without a function name`);
      }
      yield {
        type: 'tool-call',
        callId: call.id === '' ? `call_${settings.generateId()}` : call.id,
        name: call.name,
        arguments: call.arguments,
      };
    }
    yield { type: 'finish', reason: finishReason };
  } catch (error) {
    throw toModelError(error);
  } finally {
    released();
  }
}
