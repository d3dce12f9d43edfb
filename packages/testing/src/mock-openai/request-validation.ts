import { z } from 'zod';

const chatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
    tool_calls: z
      .array(
        z.object({
          id: z.string(),
          type: z.literal('function'),
          function: z.object({ name: z.string(), arguments: z.string() }),
        }),
      )
      .optional(),
    tool_call_id: z.string().optional(),
  })
  .loose();

const toolSchema = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** @internal The parts of a Chat Completions request the mock checks, as strictly as OpenAI does. */
export const chatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(chatMessageSchema).min(1),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
    tools: z.array(toolSchema).optional(),
    max_completion_tokens: z.number().int().positive().optional(),
    max_tokens: z.number().int().positive().optional(),
  })
  .loose();

const responsesToolSchema = z
  .object({
    type: z.literal('function'),
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
    parameters: z.unknown(),
  })
  .loose();

/** @internal The parts of a Responses API request the mock checks. */
export const responsesRequestSchema = z
  .object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.record(z.string(), z.unknown())).min(1)]),
    stream: z.boolean().optional(),
    tools: z.array(responsesToolSchema).optional(),
    max_output_tokens: z.number().int().positive().optional(),
  })
  .loose();

/**
 * @internal OpenAI answers 400 when a tool result does not follow its call; so does the mock,
 * which catches adapters that drop or reorder tool messages.
 */
export function checkChatToolPairs(messages: z.infer<typeof chatMessageSchema>[]): string | undefined {
  const open = new Set<string>();
  for (const [index, message] of messages.entries()) {
    if (message.role === 'tool') {
      if (message.tool_call_id === undefined || !open.delete(message.tool_call_id)) {
        return `messages[${index}]: a 'tool' message must answer a tool_call_id of the preceding assistant message`;
      }
      continue;
    }
    if (open.size > 0)
      return `messages[${index}]: tool_call_ids ${[...open].join(', ')} have no tool message`;
    for (const call of message.tool_calls ?? []) open.add(call.id);
  }
  return open.size > 0 ? `tool_call_ids ${[...open].join(', ')} have no tool message` : undefined;
}

/** @internal The Responses API's rule: every function_call_output answers an earlier function_call. */
export function checkResponsesToolPairs(input: string | Record<string, unknown>[]): string | undefined {
  if (typeof input === 'string') return undefined;
  const calls = new Set<string>();
  for (const [index, item] of input.entries()) {
    if (item.type === 'function_call' && typeof item.call_id === 'string') calls.add(item.call_id);
    if (
      item.type === 'function_call_output' &&
      (typeof item.call_id !== 'string' || !calls.has(item.call_id))
    ) {
      return `input[${index}]: No tool call found for function call output with call_id ${String(item.call_id)}.`;
    }
  }
  const answered = new Set(
    input.flatMap((item) =>
      item.type === 'function_call_output' && typeof item.call_id === 'string' ? [item.call_id] : [],
    ),
  );
  const unanswered = [...calls].filter((callId) => !answered.has(callId));
  if (unanswered.length > 0) return `No tool output found for function call ${unanswered.join(', ')}.`;
  return undefined;
}
