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
    for await (const event of storedAfter(storage, runId, { userId, afterSeq: last, signal })) {
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
    let read = 0;
    for await (const event of storedAfter(storage, runId, { userId, afterSeq: last, signal })) {
      read++;
      last = event.seq;
      yield event;
      if (event.type === 'final') return;
    }
    if (read > 0) continue;
    const now = await storage.getRun(runId, { userId });
    if (now === undefined || terminalStatuses.has(now.status)) {
      // A run stores `final` before its status, so one that ended has it stored, unless its
      // events could not all be written: then the reader is told, never left with a quiet end.
      if ((await storage.listEvents(runId, { userId, afterSeq: last, limit: 1 })).length > 0) continue;
      if (await endsAt(storage, runId, userId, last)) return;
      throw new StewardError(
        'storage_error',
        `Run ${runId} ended, but its events after seq ${last} were not stored`,
        { retryable: false, details: { runId, lastSeq: last, status: now?.status } },
      );
    }
    try {
      await delay(context.limits.streamPollMs, signal);
    } catch {
      return;
    }
  }
}

/** Events per storage read: a replay holds one page per reader, however long the run. */
const pageSize = 256;

/**
 * @internal A run's stored events after `afterSeq`, read page by page (so memory stays bounded
 * per reader) for as long as they follow on from each other without a gap.
 */
async function* storedAfter(
  storage: Storage,
  runId: string,
  scope: OwnerScope & { afterSeq: number; signal?: AbortSignal | undefined },
): AsyncGenerator<StewardEvent, void, undefined> {
  let last = scope.afterSeq;
  while (scope.signal?.aborted !== true) {
    const page = await storage.listEvents(runId, { userId: scope.userId, afterSeq: last, limit: pageSize });
    for (const event of page) {
      if (event.seq !== last + 1) return;
      last = event.seq;
      yield event;
    }
    if (page.length < pageSize) return;
  }
}

/**
 * True when a reader at `last` has nothing more to read of an ended run: it already read
 * `final`, or it asked from past the stored end (a client's own seq).
 */
async function endsAt(storage: Storage, runId: string, userId: string, last: number): Promise<boolean> {
  if (last === 0) return false;
  const [atLast] = await storage.listEvents(runId, { userId, afterSeq: last - 1, limit: 1 });
  return atLast === undefined || atLast.seq !== last || atLast.type === 'final';
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
