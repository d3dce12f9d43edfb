import type { StewardClient } from '@steward/transport-ws/client';
import type { ChatMessage, ToolCard, ToolCardError, ToolCardStatus } from './chat-message.ts';
import type { UseAssistantUrlOptions } from './use-assistant.ts';

/**
 * A stored message of a session, as `GET /api/v1/history` (the client's `history()`) returns it:
 * what {@link UseAssistantUrlOptions.initialHistory} takes.
 */
export type HistoryMessage = Awaited<ReturnType<StewardClient['history']>>[number];

/**
 * @internal Maps a session's stored messages to what the hook renders: user and assistant
 * messages, and one {@link ToolCard} per call with its stored result. System messages (prompts,
 * compaction summaries) are not part of the visible conversation.
 */
export function messagesFromHistory(history: readonly HistoryMessage[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const cardIndex = new Map<string, number>();
  for (const item of history) {
    switch (item.role) {
      case 'system':
        break;
      case 'user':
        messages.push({ role: 'user', id: item.id, text: item.content, runId: item.run_id });
        break;
      case 'assistant':
        if (item.content !== '') {
          messages.push({
            role: 'assistant',
            id: item.id,
            runId: item.run_id,
            text: item.content,
            streaming: false,
            partial: item.partial === true,
          });
        }
        for (const call of item.toolCalls ?? []) {
          cardIndex.set(call.callId, messages.length);
          messages.push(newToolCard(item.run_id, call.callId, call.name, argumentsOf(call.arguments)));
        }
        break;
      case 'tool': {
        const index = cardIndex.get(item.callId);
        const card =
          index === undefined
            ? newToolCard(item.run_id, item.callId, item.toolName, undefined)
            : (messages[index] as ToolCard);
        const error = item.isError === true ? toolErrorOf(item.content) : undefined;
        const finished: ToolCard = {
          ...card,
          status: error === undefined ? 'succeeded' : statusOfError(error),
          result: error === undefined ? (item.result ?? item.content) : undefined,
          error,
        };
        if (index === undefined) {
          cardIndex.set(item.callId, messages.length);
          messages.push(finished);
        } else {
          messages[index] = finished;
        }
        break;
      }
    }
  }
  return messages;
}

/** @internal A card for a call nothing more is known of yet: from history, or an event that came first. */
export function newToolCard(runId: string, callId: string, toolSlug: string, args: unknown): ToolCard {
  return {
    role: 'tool',
    id: `tool:${callId}`,
    runId,
    callId,
    toolSlug,
    title: undefined,
    annotations: undefined,
    args,
    // Neither history nor a first event says whether a call still waits for consent.
    status: 'requested',
    requireConfirmation: false,
    approval: undefined,
    progress: undefined,
    result: undefined,
    resourceLinks: [],
    inputRequests: [],
    authorization: undefined,
    error: undefined,
    durationMs: undefined,
  };
}

/** The model's raw argument text, parsed for display; left as text when it is not JSON. */
function argumentsOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A stored tool error is the JSON `{ error: { code, message } }` the model read, possibly truncated. */
function toolErrorOf(content: string): ToolCardError {
  try {
    const parsed = JSON.parse(content) as unknown;
    const error = (parsed as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown };
    if (typeof error?.message === 'string') {
      return { code: typeof error.code === 'string' ? error.code : undefined, message: error.message };
    }
  } catch {
    // Not JSON (or cut short): show the text as it is.
  }
  return { code: undefined, message: content };
}

/** @internal */
export function statusOfError(error: { readonly code: string | undefined }): ToolCardStatus {
  if (error.code === 'tool_denied') return 'denied';
  if (error.code === 'approval_expired') return 'expired';
  return 'failed';
}
