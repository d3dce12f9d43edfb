import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent, UsageEvent } from '../events/stream-event.ts';
import { emptyUsage } from '../events/usage.ts';
import type { Message } from '../model/message.ts';
import type { RunRecord, Storage } from '../storage/storage.ts';

/**
 * @internal Ends a run whose instance died: claims it (an epoch-checked move from `running` to
 * `interrupted`, so two recoverers cannot both act), keeps the partial answer in history, answers
 * unanswered tool calls, and appends `error` (`run_interrupted`) and `final` to its stored events
 * with the next seqs, so a reader tailing the run sees it end. Resolves whether it did.
 *
 * `stopped: true` ends a paused run (`awaiting_approval`) that no live instance holds, on the
 * user's stop: the same, as `aborted`, with no `error` event (a stop is not a failure).
 */
export async function recoverRun(
  storage: Storage,
  record: RunRecord,
  options: { readonly now: () => number; readonly stopped?: boolean },
): Promise<boolean> {
  const scope = { userId: record.userId };
  const stopped = options.stopped === true;
  const claimed = await storage.transitionRun(
    record.id,
    stopped ? 'awaiting_approval' : 'running',
    stopped ? 'aborted' : 'interrupted',
    record.epoch ?? 0,
  );
  if (claimed === undefined) return false;
  // Every write below is fenced by the claim: should another recoverer or the run's own instance
  // move the run on meanwhile, they are refused rather than written over it.
  const fence = { epoch: claimed };
  const events = await storage.listEvents(record.id, scope);
  const stored = await storage.listMessages(record.sessionId, scope);
  const ended = events.at(-1);
  if (ended?.type === 'final') {
    // Its instance stored `final` and died before the status: `final` is the truth, keep it.
    await storage.updateRun(
      record.id,
      {
        status: ended.stop_reason === 'aborted' ? 'aborted' : ended.partial ? 'failed' : 'completed',
        stopReason: ended.stop_reason,
        text: ended.text,
        partial: ended.partial,
        usage: ended.usage,
      },
      fence,
    );
    return true;
  }
  const tokens = events.flatMap((event) => (event.type === 'token' ? [event] : []));
  const text = tokens.map((event) => event.text).join('');
  const lastUsage = [...events].reverse().find((event): event is UsageEvent => event.type === 'usage');
  // Text after the last finished model call is the step that was cut.
  const cutStep = tokens
    .filter((event) => event.seq > (lastUsage?.seq ?? 0))
    .map((event) => event.text)
    .join('');

  const messages = stored.filter((entry) => entry.runId === record.id).map((entry) => entry.message);
  const answered = new Set(messages.flatMap((message) => (message.role === 'tool' ? [message.callId] : [])));
  const repairs: Message[] = [];
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const call of message.toolCalls ?? []) {
      if (answered.has(call.callId)) continue;
      repairs.push({
        role: 'tool',
        callId: call.callId,
        toolName: call.name,
        content: JSON.stringify({
          error: stopped
            ? { code: 'run_aborted', message: 'The run was stopped before this call ran' }
            : { code: 'run_interrupted', message: 'The run was interrupted before this call reported back' },
        }),
        isError: true,
      });
    }
  }
  if (cutStep !== '') repairs.push({ role: 'assistant', content: cutStep, partial: true });
  if (repairs.length > 0) {
    await storage.appendMessages(
      record.sessionId,
      repairs.map((message) => ({ runId: record.id, message })),
      { runId: record.id, ...fence },
    );
  }

  const usage = lastUsage?.total ?? emptyUsage;
  const error = new StewardError('run_interrupted', 'The instance running this run stopped before it ended');
  const next = (events.at(-1)?.seq ?? 0) + 1;
  const timestamp = new Date(options.now()).toISOString();
  const ending: StewardEvent[] = [
    ...(stopped
      ? []
      : [
          {
            type: 'error' as const,
            code: error.code,
            message: error.message,
            retryable: error.retryable,
            run_id: record.id,
            seq: next,
            timestamp,
          },
        ]),
  ];
  ending.push({
    type: 'final',
    text,
    usage,
    stop_reason: stopped ? 'aborted' : 'interrupted',
    partial: true,
    run_id: record.id,
    seq: next + ending.length,
    timestamp,
  });
  await storage.appendEvents(record.id, ending, fence);
  await storage.updateRun(
    record.id,
    { stopReason: stopped ? 'aborted' : 'interrupted', text, partial: true, usage },
    fence,
  );
  return true;
}
