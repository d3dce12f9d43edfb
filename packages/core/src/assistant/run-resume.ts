import { StewardError } from '../errors/steward-error.ts';
import { emptyUsage, type Usage } from '../events/usage.ts';
import type { Message, ToolCall } from '../model/message.ts';
import type { OwnerScope, RunRecordOptions, Storage } from '../storage/storage.ts';
import { answerVanishedCall } from './authorization-pause.ts';
import type { RunResult } from './run.ts';
import { fail } from './run-end.ts';
import { loadRunCatalog, type RunLoopContext, type RunState, runSteps, toolContext } from './run-loop.ts';
import { type PendingCall, preparePending } from './tool-execution.ts';
import { errorMessage } from './tool-invoke.ts';

/** @internal Everything stored about a paused run that its continuation needs. */
export interface PausedRun {
  readonly sessionId: string;
  /** The epoch the run was paused at: the claim must still find it there. */
  readonly epoch: number;
  readonly options: RunRecordOptions;
  readonly input: string;
  readonly nextSeq: number;
  readonly text: string;
  readonly usage: Usage;
  readonly history: readonly Message[];
  readonly messages: readonly Message[];
  readonly waiting: readonly ToolCall[];
}

/**
 * @internal Reads a paused run back from storage, or `undefined` when it is not paused or a
 * call of it still waits for a decision that has not expired.
 */
export async function loadPausedRun(
  storage: Storage,
  runId: string,
  scope: OwnerScope,
  historyMessages: number,
  now: () => number,
): Promise<PausedRun | undefined> {
  const record = await storage.getRun(runId, scope);
  if (record?.status !== 'awaiting_approval') return undefined;
  const approvals = await storage.listApprovals(runId, scope);
  if (approvals.some((approval) => approval.status === 'pending' && Date.parse(approval.expiresAt) > now())) {
    return undefined;
  }
  const [events, stored] = await Promise.all([
    storage.listEvents(runId, scope),
    storage.listMessages(record.sessionId, { userId: scope.userId }),
  ]);
  const first = stored.findIndex((entry) => entry.runId === runId);
  if (first === -1) return undefined;
  const messages = stored.filter((entry) => entry.runId === runId).map((entry) => entry.message);
  const input = messages[0]?.role === 'user' ? messages[0].content : '';
  // The calls of the last tool-calling step that have no answer yet are the ones that waited.
  const answered = new Set(messages.flatMap((message) => (message.role === 'tool' ? [message.callId] : [])));
  const last = [...messages]
    .reverse()
    .find((message) => message.role === 'assistant' && message.toolCalls !== undefined);
  const waiting =
    last?.role === 'assistant' ? (last.toolCalls ?? []).filter((call) => !answered.has(call.callId)) : [];
  return {
    sessionId: record.sessionId,
    epoch: record.epoch ?? 0,
    options: record.options ?? {},
    input,
    nextSeq: events.length + 1,
    text: record.text ?? '',
    usage: record.usage ?? emptyUsage,
    history: stored.slice(Math.max(0, first - historyMessages), first).map((entry) => entry.message),
    messages,
    waiting,
  };
}

/** @internal Continues a paused run that this instance has claimed: its waiting calls, then its steps. */
export async function continuePausedRun(context: RunLoopContext, paused: PausedRun): Promise<RunResult> {
  const state: RunState = {
    text: paused.text,
    stepStart: paused.text.length,
    usage: paused.usage,
    messages: [...paused.messages],
    runCreated: true,
    step: paused.messages.filter((message) => message.role === 'assistant').length,
  };
  try {
    return await continueFrom(context, paused, state);
  } catch (error) {
    return fail(context, state, error);
  }
}

async function continueFrom(context: RunLoopContext, paused: PausedRun, state: RunState): Promise<RunResult> {
  const catalog = await loadRunCatalog(context);
  const tools = toolContext(context, catalog);
  const pending: PendingCall[] = [];
  const unusable: Message[] = [];
  for (const call of paused.waiting) {
    const ready = await preparePending(tools, call);
    if (!StewardError.isInstance(ready)) pending.push(ready);
    else {
      const vanished = ready.code === 'tool_not_found' ? await answerVanishedCall(tools, call) : undefined;
      unusable.push(vanished ?? errorMessage(tools, call, ready, 0));
    }
  }
  if (unusable.length > 0) {
    state.messages.push(...unusable);
    await context.storage.appendMessages(
      context.sessionId,
      unusable.map((message) => ({ runId: context.runId, message })),
      { runId: context.runId, epoch: context.fence.epoch },
    );
  }
  return runSteps(context, state, { history: paused.history, memories: [], catalog }, pending, true);
}
