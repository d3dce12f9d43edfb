import { raceAbort } from '../internal/abort.ts';
import type { RunResult } from './run.ts';
import { resultOf } from './run-end.ts';
import type { RunLoopContext, RunState } from './run-loop.ts';
import type { PendingCall } from './tool-execution.ts';

/** @internal Wakes a paused run when a decision on one of its calls is recorded in this process. */
export interface DecisionSignals {
  /** Resolves when `notify(runId)` is called or after `ms`; rejects when `signal` aborts. */
  wait(runId: string, ms: number, signal: AbortSignal): Promise<void>;
  notify(runId: string): void;
}

/** @internal An in-process {@link DecisionSignals}. Other instances' decisions are found by polling storage. */
export function createDecisionSignals(): DecisionSignals {
  const waiters = new Map<string, Set<() => void>>();
  // A decision that lands between a run's storage check and its wait is kept, not lost.
  const signaled = new Set<string>();
  return {
    wait(runId, ms, signal) {
      return new Promise((resolve, reject) => {
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        if (signaled.delete(runId)) {
          resolve();
          return;
        }
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          waiters.get(runId)?.delete(done);
          resolve();
        };
        const onAbort = () => {
          clearTimeout(timer);
          waiters.get(runId)?.delete(done);
          reject(signal.reason);
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener('abort', onAbort, { once: true });
        const set = waiters.get(runId) ?? new Set();
        set.add(done);
        waiters.set(runId, set);
      });
    },
    notify(runId) {
      const set = waiters.get(runId);
      if (set === undefined || set.size === 0) {
        signaled.add(runId);
        return;
      }
      for (const wake of [...set]) wake();
      waiters.delete(runId);
    },
  };
}

/**
 * @internal Pauses the run until every waiting call is decided or its approval expires. The
 * run's state is stored first (text, usage, events, status `awaiting_approval`), so any
 * instance can resume it; the run timeout does not tick while paused. Resolves true when this
 * loop claimed the run to go on, false when another instance resumed it first.
 */
export async function awaitDecisions(
  context: RunLoopContext,
  state: RunState,
  pending: readonly PendingCall[],
): Promise<boolean> {
  const guard = <T>(promise: Promise<T>) => raceAbort(promise, context.signal);
  const { fence } = context;
  await guard(
    context.storage.updateRun(
      context.runId,
      { text: state.text, usage: state.usage },
      { epoch: fence.epoch },
    ),
  );
  await guard(context.eventLog.flush());
  const epoch = await guard(
    context.storage.transitionRun(context.runId, 'running', 'awaiting_approval', fence.epoch),
  );
  if (epoch === undefined) return false; // Not ours to pause: another loop owns the run.
  fence.epoch = epoch;
  const releaseTimeout = context.holdTimeout();
  try {
    const callIds = new Set(pending.map((item) => item.call.callId));
    while (true) {
      const approvals = await guard(context.storage.listApprovals(context.runId, { userId: context.userId }));
      const open = approvals.filter(
        (approval) => callIds.has(approval.callId) && approval.status === 'pending',
      );
      if (open.length === 0) break;
      // Wait for the last deadline: every call gets its full time to be decided.
      const untilExpiry = Math.max(...open.map((approval) => Date.parse(approval.expiresAt))) - context.now();
      if (untilExpiry <= 0) break;
      await context.decisions.wait(
        context.runId,
        Math.min(untilExpiry, context.limits.approvalPollMs),
        context.signal,
      );
    }
  } catch (error) {
    // Stopped while paused: only the owner of the run may record that. If another instance
    // resumed it meanwhile, this loop hands off and writes nothing.
    const ours = await context.storage
      .transitionRun(context.runId, 'awaiting_approval', 'running', epoch)
      .catch(() => undefined);
    if (ours === undefined) return false;
    fence.epoch = ours;
    throw error;
  } finally {
    releaseTimeout();
  }
  try {
    const claimed = await guard(
      context.storage.transitionRun(context.runId, 'awaiting_approval', 'running', epoch),
    );
    if (claimed === undefined) return false;
    fence.epoch = claimed;
    return true;
  } catch (error) {
    if (context.signal.aborted) throw error;
    // Whether the claim landed is unknown. The stored run is the truth, and another instance may
    // go on with it: this loop hands off rather than end the run with a `final` of its own that
    // storage may never see. (A claim that did land leaves the run to interrupted-run recovery.)
    context.warn('Could not claim the paused run back; handing it off', error);
    return false;
  }
}

/**
 * @internal Another instance resumed this run: its events continue there. This loop stores
 * nothing more and ends its local stream without a `final` of its own.
 */
export function handOff(context: RunLoopContext, state: RunState): RunResult {
  context.events.close();
  return resultOf(context, state, 'handed_off', true);
}
