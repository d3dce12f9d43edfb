import { type StewardError, toStewardError } from '../errors/steward-error.ts';
import type { StopReason } from '../events/stream-event.ts';
import { emptyUsage } from '../events/usage.ts';
import { abortReasonToError, raceAbort } from '../internal/abort.ts';
import type { Message } from '../model/message.ts';
import type { RunStatus } from '../storage/storage.ts';
import { isFenced } from './event-log.ts';
import type { RunResult } from './run.ts';
import type { RunLoopContext, RunState } from './run-loop.ts';

/** How long the writes after `final` (events, run status, memory) may take. */
const finalizeTimeoutMs = 10_000;

/** @internal Adds messages to the run's state and stores them. */
export async function persist(
  context: RunLoopContext,
  state: RunState,
  messages: readonly Message[],
): Promise<void> {
  state.messages.push(...messages);
  await context.storage.appendMessages(
    context.sessionId,
    messages.map((message) => ({ runId: context.runId, message })),
    { runId: context.runId, epoch: context.fence.epoch },
  );
}

/**
 * @internal Ends a run refused before it began (a busy session, a rate limit): `error` and
 * `final` are its only events, and nothing is stored.
 */
export function refuse(context: RunLoopContext, error: unknown): Promise<RunResult> {
  return fail(
    context,
    { text: '', stepStart: 0, usage: emptyUsage, messages: [], runCreated: false, step: 0 },
    error,
  );
}

export async function fail(context: RunLoopContext, state: RunState, caught: unknown): Promise<RunResult> {
  const error = context.signal.aborted
    ? abortReasonToError(context.signal.reason, 'run_timeout', 'The run')
    : toStewardError(caught);
  // Another instance took the run over: it tells the truth about the run from now on.
  if (isFenced(error) || isFenced(caught) || isFenced(context.eventLog.failure))
    return superseded(context, state, isFenced(caught) ? toStewardError(caught) : error);
  const stopReason: StopReason =
    error.code === 'run_aborted'
      ? 'aborted'
      : error.code === 'run_timeout'
        ? 'timeout'
        : error.code === 'model_stream_stalled'
          ? 'stalled'
          : 'error';
  // A user's stop is not a failure to report; everything else is.
  if (stopReason !== 'aborted') {
    context.events.emit({
      type: 'error',
      code: error.code,
      message: error.message,
      retryable: error.retryable,
    });
  }
  const stepText = state.text.slice(state.stepStart);
  if (stepText !== '' && state.runCreated) {
    try {
      await raceAbort(
        persist(context, state, [{ role: 'assistant', content: stepText, partial: true }]),
        AbortSignal.timeout(finalizeTimeoutMs),
      );
    } catch (persistError) {
      context.warn('Could not store the partial answer', persistError);
    }
  }
  return finish(context, state, stopReason, error);
}

/**
 * @internal Ends a run. The order is what readers rely on: every event before `final` is stored,
 * then the session is freed, then `final` is stored, then the run's status; only then does
 * anyone (a local iterator, an observer, another instance's tail) see `final`. So a caller who
 * reads `final` can start the session's next run at once, and a reader who sees the run ended
 * finds `final` stored. A run whose events could not all be stored ends `failed`, never
 * `completed`: its status tells the truth even when the model finished.
 */
export async function finish(
  context: RunLoopContext,
  state: RunState,
  stopReason: StopReason,
  error?: StewardError,
): Promise<RunResult> {
  let ending = { stopReason, error };
  if (state.runCreated) {
    try {
      await raceAbort(context.eventLog.flush(), AbortSignal.timeout(finalizeTimeoutMs));
    } catch (flushError) {
      if (isFenced(flushError)) return superseded(context, state, toStewardError(flushError));
      if (ending.stopReason !== 'error') ending = storageFailure(context, flushError);
    }
  }
  await context.releaseSession();
  const partial = !['stop', 'length', 'content_filter', 'max_steps'].includes(ending.stopReason);
  const final = context.events.seal({
    type: 'final',
    text: state.text,
    usage: state.usage,
    stop_reason: ending.stopReason,
    partial,
  });
  let status: RunStatus = ending.stopReason === 'aborted' ? 'aborted' : partial ? 'failed' : 'completed';
  if (state.runCreated) {
    try {
      context.eventLog.append(final);
      await raceAbort(context.eventLog.flush(), AbortSignal.timeout(finalizeTimeoutMs));
    } catch (finalError) {
      if (isFenced(finalError)) return superseded(context, state, toStewardError(finalError));
      // `final` is not stored: readers elsewhere are told so; the status must not claim success.
      context.warn('Could not store the end of the run', finalError);
      if (status === 'completed') status = 'failed';
    }
    try {
      await raceAbort(
        context.storage.updateRun(
          context.runId,
          {
            status,
            stopReason: ending.stopReason,
            text: state.text,
            partial,
            usage: state.usage,
          },
          { epoch: context.fence.epoch },
        ),
        AbortSignal.timeout(finalizeTimeoutMs),
      );
    } catch (updateError) {
      // Fenced here, `final` is stored already: it stays the run's truth; the new owner decides the status.
      context.warn('Could not store how the run ended', updateError);
    }
  }
  context.events.publishSealed();
  if (state.runCreated && status === 'completed') await remember(context, state);
  return resultOf(context, state, ending.stopReason, partial, ending.error);
}

/**
 * @internal This instance's write was refused as stale: another instance claimed the run (resumed
 * or recovered it) and writes it now. This loop stops quietly: it stores nothing more (no error,
 * no partial message, no `final`, no status), ends its local stream without a `final` of its own
 * (it would contradict the stored run) and warns. The session lock, if still ours, is freed.
 */
export async function superseded(
  context: RunLoopContext,
  state: RunState,
  error: StewardError,
): Promise<RunResult> {
  context.warn(
    `Run ${context.runId} was taken over by another instance; this instance stops writing it`,
    error,
  );
  await context.releaseSession();
  context.events.close();
  return resultOf(context, state, 'handed_off', true, error);
}

/** The run's events could not be stored: it ends as failed, and says so to its local readers. */
function storageFailure(
  context: RunLoopContext,
  caught: unknown,
): { stopReason: StopReason; error: StewardError } {
  const error = toStewardError(caught, 'storage_error');
  context.events.emit({
    type: 'error',
    code: error.code,
    message: error.message,
    retryable: error.retryable,
  });
  return { stopReason: 'error', error };
}

async function remember(context: RunLoopContext, state: RunState): Promise<void> {
  if (context.memory?.remember === undefined) return;
  const signal = AbortSignal.timeout(finalizeTimeoutMs);
  try {
    await raceAbort(
      context.memory.remember(
        {
          userId: context.userId,
          sessionId: context.sessionId,
          runId: context.runId,
          input: context.input,
          output: state.text,
        },
        { signal },
      ),
      signal,
    );
  } catch (memoryError) {
    context.warn('Memory could not store the run', memoryError);
  }
}

/** @internal What a run resolves with, from its state and how it ended. */
export function resultOf(
  context: RunLoopContext,
  state: RunState,
  stopReason: RunResult['stopReason'],
  partial: boolean,
  error?: StewardError,
): RunResult {
  return {
    runId: context.runId,
    sessionId: context.sessionId,
    text: state.text,
    messages: state.messages,
    usage: state.usage,
    stopReason,
    partial,
    ...(error === undefined ? {} : { error }),
  };
}
