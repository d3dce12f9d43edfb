import type { Message } from '../model/message.ts';

/**
 * @internal The index of the first message to keep when compacting `messages`: the latest point
 * at or before `limit` that splits no tool call from its result (providers reject a result whose
 * call is gone, and a call without its result). 0 when there is no such point, i.e. nothing to
 * compact.
 */
export function compactionBoundary(messages: readonly Message[], limit: number): number {
  // A call id spans from the first message naming it (the call) to the last (its result);
  // a boundary strictly inside such a span would split the pair.
  const spans = new Map<string, { first: number; last: number }>();
  const mark = (callId: string, index: number) => {
    const span = spans.get(callId);
    if (span === undefined) spans.set(callId, { first: index, last: index });
    else span.last = index;
  };
  messages.forEach((message, index) => {
    if (message.role === 'tool') mark(message.callId, index);
    if (message.role === 'assistant') for (const call of message.toolCalls ?? []) mark(call.callId, index);
  });
  const split = new Array<boolean>(messages.length + 1).fill(false);
  for (const { first, last } of spans.values())
    for (let index = first + 1; index <= last; index++) split[index] = true;

  for (let boundary = Math.min(limit, messages.length); boundary > 0; boundary--) {
    // A tool message never starts the kept window, even an orphan one: it would have no call before it.
    if (!split[boundary] && messages[boundary]?.role !== 'tool') return boundary;
  }
  return 0;
}
