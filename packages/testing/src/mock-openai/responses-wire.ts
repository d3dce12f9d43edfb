import type { SseFrame, WireContext } from './chat-wire.ts';
import { countUsage } from './chat-wire.ts';
import { argumentText, chunkText, type MockReply, toDeltas } from './mock-reply.ts';

type OutputItem = Record<string, unknown>;

function responseObject(
  reply: MockReply,
  context: WireContext,
  status: string,
  output: OutputItem[],
  withUsage: boolean,
) {
  const usage = countUsage(reply, context.inputTokens);
  return {
    id: context.id,
    object: 'response',
    created_at: context.created,
    status,
    model: context.model,
    output,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    error: null,
    incomplete_details:
      status === 'incomplete'
        ? { reason: reply.finishReason === 'content_filter' ? 'content_filter' : 'max_output_tokens' }
        : null,
    usage: withUsage
      ? {
          input_tokens: usage.input,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: usage.output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.input + usage.output,
        }
      : null,
  };
}

function finalOutput(reply: MockReply, context: WireContext): OutputItem[] {
  const output: OutputItem[] = [];
  const deltas = toDeltas(reply);
  if (deltas.length > 0) {
    output.push({
      id: `msg_${context.id}`,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: deltas.join(''), annotations: [], logprobs: [] }],
    });
  }
  (reply.toolCalls ?? []).forEach((call, index) => {
    output.push({
      id: `fc_${context.id}_${index}`,
      type: 'function_call',
      status: 'completed',
      call_id: call.id ?? `call_${context.id.slice(-8)}_${index}`,
      name: call.name,
      arguments: argumentText(call),
    });
  });
  return output;
}

function isIncomplete(reply: MockReply): boolean {
  return reply.finishReason === 'length' || reply.finishReason === 'content_filter';
}

/** @internal The SSE frames of a streamed Responses API call, named events with `sequence_number`s. */
export function responsesStreamFrames(reply: MockReply, context: WireContext): SseFrame[] {
  const frames: SseFrame[] = [];
  let sequence = 0;
  const emit = (type: string, payload: Record<string, unknown>) => {
    frames.push({ event: type, data: JSON.stringify({ type, sequence_number: sequence++, ...payload }) });
  };
  emit('response.created', { response: responseObject(reply, context, 'in_progress', [], false) });
  emit('response.in_progress', { response: responseObject(reply, context, 'in_progress', [], false) });
  const output = finalOutput(reply, context);
  let outputIndex = 0;
  const deltas = toDeltas(reply);
  if (deltas.length > 0) {
    const item = output[outputIndex] as OutputItem;
    const itemId = item.id;
    emit('response.output_item.added', {
      output_index: outputIndex,
      item: { ...item, status: 'in_progress', content: [] },
    });
    const part = { type: 'output_text', text: '', annotations: [] };
    emit('response.content_part.added', {
      item_id: itemId,
      output_index: outputIndex,
      content_index: 0,
      part,
    });
    for (const delta of deltas) {
      emit('response.output_text.delta', {
        item_id: itemId,
        output_index: outputIndex,
        content_index: 0,
        delta,
        logprobs: [],
      });
    }
    const text = deltas.join('');
    emit('response.output_text.done', {
      item_id: itemId,
      output_index: outputIndex,
      content_index: 0,
      text,
      logprobs: [],
    });
    emit('response.content_part.done', {
      item_id: itemId,
      output_index: outputIndex,
      content_index: 0,
      part: { ...part, text },
    });
    emit('response.output_item.done', { output_index: outputIndex, item });
    outputIndex++;
  }
  for (const call of reply.toolCalls ?? []) {
    const item = output[outputIndex] as OutputItem;
    const text = argumentText(call);
    emit('response.output_item.added', {
      output_index: outputIndex,
      item: { ...item, status: 'in_progress', arguments: '' },
    });
    for (const delta of chunkText(text, reply.argumentChunkSize ?? 8)) {
      emit('response.function_call_arguments.delta', { item_id: item.id, output_index: outputIndex, delta });
    }
    emit('response.function_call_arguments.done', {
      item_id: item.id,
      output_index: outputIndex,
      arguments: text,
    });
    emit('response.output_item.done', { output_index: outputIndex, item });
    outputIndex++;
  }
  if (isIncomplete(reply)) {
    emit('response.incomplete', { response: responseObject(reply, context, 'incomplete', output, true) });
  } else {
    emit('response.completed', { response: responseObject(reply, context, 'completed', output, true) });
  }
  return frames;
}

/** @internal A non-streamed Responses API result. */
export function responsesBody(reply: MockReply, context: WireContext): Record<string, unknown> {
  const output = finalOutput(reply, context);
  const text = toDeltas(reply).join('');
  return {
    ...responseObject(reply, context, isIncomplete(reply) ? 'incomplete' : 'completed', output, true),
    output_text: text,
  };
}
