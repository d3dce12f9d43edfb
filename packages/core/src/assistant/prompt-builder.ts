import type { MemoryItem } from '../memory/memory.ts';
import type { Message, ToolMessage } from '../model/message.ts';

/** @internal A rough token estimate (about four characters a token) used when no counter is given. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** @internal What one prompt is built from. */
export interface PromptParts {
  readonly system: string;
  readonly memories: readonly MemoryItem[];
  /** Earlier messages of the session, oldest first; trimmed to the budget. */
  readonly history: readonly Message[];
  /** This run's messages (its user input first); always sent whole. */
  readonly current: readonly Message[];
  readonly historyTokens: number;
  readonly countTokens: (text: string) => number;
}

function messageTokens(message: Message, countTokens: (text: string) => number): number {
  const overhead = 4;
  if (message.role === 'assistant' && message.toolCalls !== undefined) {
    return (
      overhead +
      countTokens(message.content) +
      message.toolCalls.reduce((sum, call) => sum + countTokens(call.arguments) + 8, 0)
    );
  }
  return overhead + countTokens(message.content);
}

/**
 * @internal Builds the messages of one model call: the system prompt with retrieved memories,
 * the newest history that fits the token budget, then the current run's messages.
 */
export function buildPrompt(parts: PromptParts): Message[] {
  const memoryText =
    parts.memories.length === 0
      ? ''
      : `\n\nRelevant memories about this user (may be outdated):\n${parts.memories.map((item) => `- ${item.text}`).join('\n')}`;
  const system: Message[] =
    parts.system === '' && memoryText === ''
      ? []
      : [{ role: 'system', content: `${parts.system}${memoryText}` }];

  let budget = parts.historyTokens;
  let start = parts.history.length;
  while (start > 0) {
    const cost = messageTokens(parts.history[start - 1] as Message, parts.countTokens);
    if (cost > budget) break;
    budget -= cost;
    start--;
  }
  return [...system, ...repairToolPairs(parts.history.slice(start)), ...parts.current];
}

/**
 * @internal Providers reject a tool result that does not directly follow its call, and a call
 * without its result. A trimmed window, a crash mid-call or two overlapping runs of one session
 * can leave either, so rebuild the pairs: each call is followed by its result (or an explicit
 * error result when none was recorded), and results found anywhere else are dropped.
 */
export function repairToolPairs(messages: readonly Message[]): Message[] {
  const results = new Map<string, ToolMessage>();
  for (const message of messages) {
    if (message.role === 'tool' && !results.has(message.callId)) results.set(message.callId, message);
  }
  const repaired: Message[] = [];
  for (const message of messages) {
    if (message.role === 'tool') continue;
    repaired.push(message);
    if (message.role !== 'assistant' || message.toolCalls === undefined) continue;
    for (const call of message.toolCalls) {
      const result = results.get(call.callId);
      results.delete(call.callId); // One answer per call, even if an id repeats.
      repaired.push(
        result ?? {
          role: 'tool',
          callId: call.callId,
          toolName: call.name,
          content: JSON.stringify({
            error: { code: 'internal_error', message: 'No result was recorded for this call' },
          }),
          isError: true,
        },
      );
    }
  }
  return repaired;
}
