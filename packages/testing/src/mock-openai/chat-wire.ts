import { argumentText, chunkText, type MockReply, toDeltas } from './mock-reply.ts';

/** @internal One server-sent event. */
export interface SseFrame {
  readonly event?: string;
  readonly data: string;
}

/** @internal What every reply of one request shares. */
export interface WireContext {
  readonly id: string;
  readonly model: string;
  readonly created: number;
  readonly inputTokens: number;
  readonly includeUsage: boolean;
}

/** @internal Token usage of a reply: word deltas plus about a token per four argument characters. */
export function countUsage(reply: MockReply, inputTokens: number): { input: number; output: number } {
  const argumentTokens = (reply.toolCalls ?? []).reduce(
    (sum, call) => sum + Math.ceil(argumentText(call).length / 4),
    0,
  );
  return {
    input: reply.usage?.inputTokens ?? inputTokens,
    output: reply.usage?.outputTokens ?? toDeltas(reply).length + argumentTokens,
  };
}

function finishReason(reply: MockReply): string {
  return reply.finishReason ?? ((reply.toolCalls ?? []).length > 0 ? 'tool_calls' : 'stop');
}

function callId(reply: MockReply, index: number, context: WireContext): string {
  return reply.toolCalls?.[index]?.id ?? `call_${context.id.slice(-8)}_${index}`;
}

/** @internal The SSE frames of a streamed Chat Completion, exactly as OpenAI sends them. */
export function chatStreamFrames(reply: MockReply, context: WireContext): SseFrame[] {
  const usageField = context.includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    data: JSON.stringify({
      id: context.id,
      object: 'chat.completion.chunk',
      created: context.created,
      model: context.model,
      system_fingerprint: 'fp_steward_mock',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...usageField,
    }),
  });
  const frames: SseFrame[] = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const text of toDeltas(reply)) frames.push(chunk({ content: text }));

  const calls = reply.toolCalls ?? [];
  const size = reply.argumentChunkSize ?? 8;
  const pieces = calls.map((call) => chunkText(argumentText(call), size));
  calls.forEach((call, index) => {
    frames.push(
      chunk({
        tool_calls: [
          {
            index,
            id: callId(reply, index, context),
            type: 'function',
            function: { name: call.name, arguments: '' },
          },
        ],
      }),
    );
    if (reply.interleaveToolCalls !== true) {
      for (const piece of pieces[index] ?? [])
        frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  if (reply.interleaveToolCalls === true) {
    const longest = Math.max(0, ...pieces.map((list) => list.length));
    for (let position = 0; position < longest; position++) {
      pieces.forEach((list, index) => {
        const piece = list[position];
        if (piece !== undefined)
          frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
      });
    }
  }
  frames.push(chunk({}, finishReason(reply)));
  if (context.includeUsage) {
    const usage = countUsage(reply, context.inputTokens);
    frames.push({
      data: JSON.stringify({
        id: context.id,
        object: 'chat.completion.chunk',
        created: context.created,
        model: context.model,
        system_fingerprint: 'fp_steward_mock',
        choices: [],
        usage: {
          prompt_tokens: usage.input,
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.output,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
        },
      }),
    });
  }
  frames.push({ data: '[DONE]' });
  return frames;
}

/** @internal A non-streamed Chat Completion. */
export function chatCompletionBody(reply: MockReply, context: WireContext): Record<string, unknown> {
  const usage = countUsage(reply, context.inputTokens);
  const calls = reply.toolCalls ?? [];
  return {
    id: context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    system_fingerprint: 'fp_steward_mock',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: calls.length > 0 && toDeltas(reply).length === 0 ? null : toDeltas(reply).join(''),
          refusal: null,
          ...(calls.length === 0
            ? {}
            : {
                tool_calls: calls.map((call, index) => ({
                  id: callId(reply, index, context),
                  type: 'function',
                  function: { name: call.name, arguments: argumentText(call) },
                })),
              }),
        },
        logprobs: null,
        finish_reason: finishReason(reply),
      },
    ],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    },
  };
}
