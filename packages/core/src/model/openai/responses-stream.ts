import type OpenAI from 'openai';
import type { FunctionTool, ResponseInputItem } from 'openai/resources/responses/responses';
import { StewardError } from '../../errors/steward-error.ts';
import type { ModelFinishReason, ModelRequest, ModelStreamPart } from '../language-model.ts';
import type { Message } from '../message.ts';
import { openAbortableStream } from './abortable-stream.ts';
import type { ChatSettings } from './chat-stream.ts';
import { toModelError } from './openai-errors.ts';

/** @internal Steward messages → Responses API input items (stateless: `store` is off). */
export function toResponsesInput(messages: readonly Message[]): ResponseInputItem[] {
  const items: ResponseInputItem[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
      case 'user':
        items.push({ role: message.role, content: message.content });
        break;
      case 'assistant':
        if (message.content !== '') items.push({ role: 'assistant', content: message.content });
        for (const call of message.toolCalls ?? []) {
          items.push({
            type: 'function_call',
            call_id: call.callId,
            name: call.name,
            arguments: call.arguments,
          });
        }
        break;
      case 'tool':
        items.push({ type: 'function_call_output', call_id: message.callId, output: message.content });
        break;
    }
  }
  return items;
}

interface PendingCall {
  callId: string;
  name: string;
  arguments: string;
}

/**
 * @internal Streams one Responses API call. Function-call items are announced by
 * `output_item.added`, grow through `function_call_arguments.delta` keyed by item id, and are
 * yielded whole at `output_item.done`.
 */
export async function* streamResponses(
  client: OpenAI,
  settings: ChatSettings,
  request: ModelRequest,
): AsyncGenerator<ModelStreamPart> {
  let released = () => {};
  // Inline rather than a wrapping generator: one less async hop per streamed part.
  try {
    const tools: FunctionTool[] = request.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description,
      parameters: { ...tool.inputSchema },
      strict: false,
    }));
    const { stream, release } = await openAbortableStream(
      client.responses.create(
        {
          model: settings.modelId,
          input: toResponsesInput(request.messages),
          stream: true,
          store: false,
          ...(tools.length === 0 ? {} : { tools, parallel_tool_calls: settings.parallelToolCalls }),
          ...(request.maxOutputTokens === undefined ? {} : { max_output_tokens: request.maxOutputTokens }),
          ...(settings.temperature === undefined ? {} : { temperature: settings.temperature }),
        },
        { maxRetries: 0 },
      ),
      request.signal,
    );
    released = release;
    const calls = new Map<string, PendingCall>();
    let sawToolCall = false;
    let finishReason: ModelFinishReason | undefined;
    for await (const event of stream) {
      switch (event.type) {
        case 'response.output_text.delta':
          if (typeof event.delta === 'string' && event.delta !== '')
            yield { type: 'text-delta', text: event.delta };
          break;
        case 'response.output_item.added':
          if (event.item.type === 'function_call') {
            calls.set(event.item.id ?? event.item.call_id, {
              callId: event.item.call_id,
              name: event.item.name,
              arguments: event.item.arguments ?? '',
            });
          }
          break;
        case 'response.function_call_arguments.delta': {
          const call = calls.get(event.item_id);
          if (call !== undefined) call.arguments += event.delta;
          yield { type: 'keep-alive' };
          break;
        }
        case 'response.output_item.done':
          if (event.item.type === 'function_call') {
            const key = event.item.id ?? event.item.call_id;
            const pending = calls.get(key);
            calls.delete(key);
            const name = event.item.name || pending?.name;
            if (!name) throw new StewardError('model_error', 'The model sent a function call without a name');
            sawToolCall = true;
            yield {
              type: 'tool-call',
              callId: event.item.call_id || pending?.callId || key,
              name,
              arguments:
                typeof event.item.arguments === 'string' ? event.item.arguments : (pending?.arguments ?? ''),
            };
          }
          break;
        case 'response.completed':
        case 'response.incomplete': {
          const usage = event.response.usage;
          if (usage) {
            yield {
              type: 'usage',
              usage: {
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                total_tokens: usage.total_tokens,
                ...(typeof usage.input_tokens_details?.cached_tokens === 'number' &&
                usage.input_tokens_details.cached_tokens > 0
                  ? { cached_input_tokens: usage.input_tokens_details.cached_tokens }
                  : {}),
              },
            };
          }
          const reason = event.response.incomplete_details?.reason;
          finishReason =
            event.type === 'response.completed'
              ? sawToolCall
                ? 'tool_calls'
                : 'stop'
              : reason === 'max_output_tokens'
                ? 'length'
                : reason === 'content_filter'
                  ? 'content_filter'
                  : 'other';
          break;
        }
        case 'response.failed':
          throw new StewardError(
            'model_error',
            `The model failed: ${event.response.error?.message ?? 'unknown error'}`,
            {
              details: { providerCode: event.response.error?.code },
            },
          );
        case 'error':
          throw new StewardError(
            'model_unavailable',
            `The model stream reported an error: ${event.message}`,
            {
              details: { providerCode: event.code },
            },
          );
        default:
          // Lifecycle, reasoning and other events carry no output here, but prove the stream is alive.
          yield { type: 'keep-alive' };
          break;
      }
    }
    if (finishReason === undefined) {
      throw new StewardError('model_unavailable', 'The model stream ended before the response completed');
    }
    yield { type: 'finish', reason: finishReason };
  } catch (error) {
    throw toModelError(error);
  } finally {
    released();
  }
}
