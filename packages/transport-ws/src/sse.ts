import type { StewardEvent } from '@steward/core';

const encoder = new TextEncoder();

/** One event in the SSE wire format: `id` is the seq, so `Last-Event-ID` resumes after it. */
export function sseFrame(event: StewardEvent): Uint8Array {
  return encoder.encode(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
}

/**
 * A `text/event-stream` response over a run's events. Pull-based: the next event is read only
 * when the client has taken the last one, so a slow reader holds back the stream instead of
 * growing a buffer. A disconnect (`requestSignal`) or cancel ends the read; the run goes on.
 * A failure mid-stream is sent as a comment of what `describe` makes of it (no internals):
 * `: error {"code":…,"message":…,"run_id":…}`.
 */
export function sseResponse(
  open: (signal: AbortSignal) => AsyncIterable<StewardEvent>,
  requestSignal: AbortSignal,
  keepAliveMs: number,
  describe: (error: unknown) => Readonly<Record<string, unknown>>,
): Response {
  const controller = new AbortController();
  const stop = () => controller.abort();
  requestSignal.addEventListener('abort', stop, { once: true });
  const iterator = open(controller.signal)[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<StewardEvent>> | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      start(stream) {
        // Tells EventSource how long to wait before it reconnects.
        stream.enqueue(encoder.encode('retry: 1000\n\n'));
      },
      async pull(stream) {
        pending ??= iterator.next();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<'idle'>((resolve) => {
          timer = setTimeout(() => resolve('idle'), keepAliveMs);
        });
        try {
          const next = await Promise.race([pending, idle]);
          if (next === 'idle') {
            stream.enqueue(encoder.encode(': keep-alive\n\n'));
            return;
          }
          pending = undefined;
          if (next.done) {
            finish();
            stream.close();
            return;
          }
          stream.enqueue(sseFrame(next.value));
        } catch (error) {
          // The reader went away (a disconnect, a cancel) while this pull waited: no failure.
          const gone = controller.signal.aborted;
          finish();
          if (gone) return;
          // Mid-stream there is no status to send: the error goes out as a comment, then the end.
          stream.enqueue(encoder.encode(`: error ${JSON.stringify(describe(error))}\n\n`));
          stream.close();
        } finally {
          clearTimeout(timer);
        }
      },
      cancel() {
        finish();
      },
    },
    { highWaterMark: 0 },
  );
  function finish() {
    requestSignal.removeEventListener('abort', stop);
    controller.abort();
    iterator.return?.().catch(() => {});
  }
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    },
  });
}
