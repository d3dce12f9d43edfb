import type { Coordinator, SessionLease } from '../coordination/coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import type { RunFence, Storage } from '../storage/storage.ts';

/** @internal What a run's heartbeat touches. */
export interface RunHeartbeatContext {
  readonly runId: string;
  readonly storage: Storage;
  readonly coordinator: Coordinator;
  readonly heartbeatMs: number;
  /** How long each extension keeps the session lock. */
  readonly lockTtlMs: number;
  /** The run's fence as its loop holds it now (claims move it on). */
  readonly fence: RunFence;
  /** The session lease the run holds now, if any. */
  readonly lease: () => SessionLease | undefined;
  /** Ends the run with `reason`. */
  readonly abort: (reason: StewardError) => void;
}

/**
 * @internal Every `heartbeatMs`: touches the run's record (so other instances know its instance is
 * alive, see `recoverInterruptedRuns`) under the run's fence, checks for a stop published while
 * this instance was not listening, and extends the session lock. A fenced touch (another instance
 * took the run over) or a lost lock ends the run. Returns the stop function.
 */
export function startRunHeartbeat(context: RunHeartbeatContext, onStop: () => StewardError): () => void {
  const { runId } = context;
  const heartbeat = setInterval(() => {
    context.storage.updateRun(runId, {}, { epoch: context.fence.epoch }).catch((error: unknown) => {
      if (StewardError.isInstance(error) && error.code === 'run_fenced') context.abort(error);
    });
    context.coordinator.stopRequested?.(runId).then(
      (requested) => {
        if (requested) context.abort(onStop());
      },
      () => {},
    );
    context
      .lease()
      ?.extend(context.lockTtlMs)
      .then(
        (held) => {
          if (!held) context.abort(new StewardError('session_busy', `Run ${runId} lost its session lock`));
        },
        () => {}, // A coordinator hiccup is not a lost lock; the next beat tries again.
      );
  }, context.heartbeatMs);
  (heartbeat as { unref?: () => void }).unref?.();
  return () => clearInterval(heartbeat);
}
