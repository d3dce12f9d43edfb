import { raceAbort } from '../../internal/abort.ts';

/** The part of the `openai` package's `Stream` this adapter relies on. */
interface AbortableStream<Item> extends AsyncIterable<Item> {
  readonly controller: AbortController;
}

/**
 * @internal Opens an `openai` stream that `signal` can cancel, without handing `signal` to the
 * client: the client composes a caller's signal with its own (`AbortSignal.any`), and fetch then
 * reads that composite's costly `aborted` getter on every body chunk (about a third of the
 * client's CPU time on a long token stream, see docs/benchmarks.md). The stream's own controller
 * cancels the request just as well, once the response has arrived; before that, the caller stops
 * waiting at once and a late response is cancelled as soon as it lands.
 */
export async function openAbortableStream<Item>(
  pending: PromiseLike<AbortableStream<Item>>,
  signal: AbortSignal,
): Promise<{ stream: AbortableStream<Item>; release: () => void }> {
  const opening = Promise.resolve(pending);
  let stream: AbortableStream<Item>;
  try {
    stream = await raceAbort(opening, signal);
  } catch (error) {
    if (signal.aborted)
      opening.then(
        (late) => late.controller.abort(),
        () => {},
      );
    throw error;
  }
  const abort = () => stream.controller.abort(signal.reason);
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  return { stream, release: () => signal.removeEventListener('abort', abort) };
}
