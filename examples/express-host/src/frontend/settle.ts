import { type Assistant, openInputRequests } from '@steward/core';

/**
 * Waits until a run has nothing more to say for now: it ended (`final`), or it waits for the
 * user on a call that is still pending (an approval, or a tool's request for input), or
 * `timeoutMs` passed. A form post without script waits
 * for this before redirecting, so the page it lands on shows the answer (or the approval form).
 */
export async function settleRun(
  assistant: Assistant,
  runId: string,
  userId: string,
  timeoutMs: number,
): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    for await (const event of assistant.streamRun(runId, { userId, signal })) {
      if (event.type === 'final') return;
      if (event.type === 'approval_required') {
        // An earlier pause of the run replays too: only a call still waiting counts.
        const approval = await assistant.storage.getApproval(event.call_id, { userId });
        if (approval?.status === 'pending') return;
      }
      if (event.type === 'input_required') {
        // Stored already: a replay, open unless answered since. Not stored yet (events are
        // written in batches): it was just asked, so nothing answered it yet.
        const events = await assistant.storage.listEvents(runId, { userId, afterSeq: event.seq - 1 });
        if (
          events.length === 0 ||
          openInputRequests(events).some((open) => open.request_id === event.request_id)
        )
          return;
      }
    }
  } catch {
    // Aborted by the timeout (or the run is gone): the page shows whatever is stored.
  }
}
