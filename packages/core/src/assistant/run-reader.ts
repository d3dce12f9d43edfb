import type { Coordinator } from '../coordination/coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import { delay } from '../internal/abort.ts';
import type { OwnerScope, RunRecord, Storage } from '../storage/storage.ts';
import type { Run } from './run.ts';

/** @internal Statuses a run never leaves. */
export const terminalStatuses: ReadonlySet<RunRecord['status']> = new Set([
  'completed',
  'aborted',
  'failed',
  'interrupted',
]);

/** @internal What reading a run's events needs from its assistant. */
export interface RunReaderContext {
  readonly storage: Storage;
  readonly coordinator: Coordinator;
  readonly limits: { readonly heartbeatMs: number; readonly streamPollMs: number };
  /** The run when its loop lives in this process (and belongs to the reader). */
  readonly local: { readonly run: Run; readonly recorded: Promise<boolean> } | undefined;
}

/**
 * @internal A run's events after `afterSeq`, each once and in `seq` order, until `final`: the
 * local live buffer (with storage before it), then the coordinator's tail or storage polling
 * for a run another instance holds (or took over by a hand-off).
 */
export async function* readRunEvents(
  context: RunReaderContext,
  runId: string,
  scope: OwnerScope & { afterSeq?: number; signal?: AbortSignal },
): AsyncGenerator<StewardEvent, void, undefined> {
  const { userId, signal } = scope;
  let last = scope.afterSeq ?? 0;
  let ended = false;
  const { local, storage } = context;
  if (local !== undefined) {
    // The live buffer holds every event since this process took the run; storage the rest.
    await local.recorded;
    for (const event of await storage.listEvents(runId, { userId, afterSeq: last })) {
      if (event.seq !== last + 1) break;
      last = event.seq;
      yield event;
    }
    for await (const event of abortable(local.run, signal)) {
      if (event.seq <= last) continue;
      last = event.seq;
      ended = event.type === 'final';
      yield event;
    }
    // A buffer that closed without `final` was handed off: the run goes on elsewhere.
    if (ended || signal?.aborted === true) return;
  }
  const record = await storage.getRun(runId, { userId });
  if (record === undefined) throw new StewardError('not_found', `Run ${runId} does not exist`);
  const tail = context.coordinator.tailEvents;
  if (tail !== undefined && !terminalStatuses.has(record.status)) {
    // The tail ends on `final`; a run that ended without one reaching the tail (a lost write)
    // is caught by a status check, and the rest is read from storage below.
    const tailing = new AbortController();
    const stopTail = () => tailing.abort();
    signal?.addEventListener('abort', stopTail, { once: true });
    const watchdog = setInterval(() => {
      storage.getRun(runId, { userId }).then(
        (now) => {
          if (now === undefined || terminalStatuses.has(now.status)) tailing.abort();
        },
        () => {},
      );
    }, context.limits.heartbeatMs * 2);
    try {
      for await (const event of tail.call(context.coordinator, runId, {
        afterSeq: last,
        signal: tailing.signal,
      })) {
        if (event.seq <= last) continue;
        last = event.seq;
        yield event;
        if (event.type === 'final') return;
      }
    } finally {
      clearInterval(watchdog);
      signal?.removeEventListener('abort', stopTail);
    }
  }
  // No live tail: read storage until `final`, waiting between reads while the run goes on.
  while (signal?.aborted !== true) {
    const batch = await storage.listEvents(runId, { userId, afterSeq: last });
    for (const event of batch) {
      if (event.seq !== last + 1) break;
      last = event.seq;
      yield event;
      if (event.type === 'final') return;
    }
    if (batch.length === 0) {
      const now = await storage.getRun(runId, { userId });
      if (now === undefined || terminalStatuses.has(now.status)) {
        // Ended without a stored `final` (an adapter that lost writes): nothing more will come.
        const again = await storage.listEvents(runId, { userId, afterSeq: last });
        if (again.length === 0) return;
        continue;
      }
      try {
        await delay(context.limits.streamPollMs, signal);
      } catch {
        return;
      }
    }
  }
}

/** Iterates `source` until it ends or `signal` aborts (then it ends quietly). */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (signal === undefined) {
    yield* source;
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  const aborted = new Promise<IteratorResult<T>>((resolve) => {
    if (signal.aborted) resolve({ value: undefined, done: true });
    signal.addEventListener('abort', () => resolve({ value: undefined, done: true }), { once: true });
  });
  try {
    while (true) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}
