import { z } from 'zod';

/** A tool call as the model made it: `arguments` is the raw JSON text the model produced. */
export interface ToolCall {
  readonly callId: string;
  readonly name: string;
  readonly arguments: string;
}

export interface SystemMessage {
  readonly role: 'system';
  readonly content: string;
}
export interface UserMessage {
  readonly role: 'user';
  readonly content: string;
}
/** `partial` marks text cut short by a stall, abort or timeout: kept, and shown as such. */
export interface AssistantMessage {
  readonly role: 'assistant';
  readonly content: string;
  readonly toolCalls?: readonly ToolCall[];
  readonly partial?: boolean;
}
/** A tool's answer to one call. `content` is what the model reads; `result` keeps the structured output. */
export interface ToolMessage {
  readonly role: 'tool';
  readonly callId: string;
  readonly toolName: string;
  readonly content: string;
  readonly isError?: boolean;
  readonly result?: unknown;
}

/** One message of a conversation, provider-neutral. Adapters translate it to their wire format. */
export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

const toolCallSchema = z.object({ callId: z.string(), name: z.string(), arguments: z.string() });

/** Validates a {@link Message}, e.g. a row a storage adapter read back. */
export const messageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({
    role: z.literal('assistant'),
    content: z.string(),
    toolCalls: z.array(toolCallSchema).exactOptional(),
    partial: z.boolean().exactOptional(),
  }),
  z.object({
    role: z.literal('tool'),
    callId: z.string(),
    toolName: z.string(),
    content: z.string(),
    isError: z.boolean().exactOptional(),
    result: z.unknown().exactOptional(),
  }),
]) satisfies z.ZodType<Message, unknown>;
