import type { InputRequiredEvent, StewardEvent } from './stream-event.ts';

/**
 * The requests for input among a run's events that no `input_resolved` answered yet, oldest
 * first: what a page without a live stream shows as still waiting for the user.
 */
export function openInputRequests(events: readonly StewardEvent[]): InputRequiredEvent[] {
  const open = new Map<string, InputRequiredEvent>();
  for (const event of events) {
    if (event.type === 'input_required') open.set(event.request_id, event);
    else if (event.type === 'input_resolved') open.delete(event.request_id);
  }
  return [...open.values()];
}
