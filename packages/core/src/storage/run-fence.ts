import { StewardError } from '../errors/steward-error.ts';
import type { RunFence } from './storage.ts';

/**
 * The refusal of a write whose {@link RunFence} is stale, the same from every adapter: the run
 * moved on to `currentEpoch` (another instance claimed it) while the writer still held `fence`.
 * Not retryable: the same write can never succeed again.
 */
export function runFencedError(runId: string, fence: RunFence, currentEpoch?: number): StewardError {
  return new StewardError(
    'run_fenced',
    `Run ${runId} was taken over (epoch ${currentEpoch ?? 'unknown'}); a write at epoch ${fence.epoch} is refused`,
    {
      retryable: false,
      details: { runId, epoch: fence.epoch, ...(currentEpoch === undefined ? {} : { currentEpoch }) },
    },
  );
}

/** Throws {@link runFencedError} when `fence` is given and is not the run's `currentEpoch`. */
export function checkRunFence(runId: string, fence: RunFence | undefined, currentEpoch: number): void {
  if (fence !== undefined && fence.epoch !== currentEpoch) throw runFencedError(runId, fence, currentEpoch);
}
