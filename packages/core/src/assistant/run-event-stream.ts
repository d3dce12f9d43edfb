import type { StewardEvent, StewardEventInput } from '../events/stream-event.ts';

/** @internal Where stamped events go besides the run's own buffer: observers and the event log. */
export type EventSink = (event: StewardEvent) => void;

/**
 * @internal The run's ordered event buffer. `emit` stamps `run_id`, a gap-free `seq` and a
 * timestamp synchronously, so concurrent tool calls can never interleave two events under one
 * seq. Every iterator replays from the first event, so a late consumer misses nothing.
 */
export class RunEventStream implements AsyncIterable<StewardEvent> {
  readonly #runId: string;
  readonly #sinks: readonly EventSink[];
  readonly #events: StewardEvent[] = [];
  #closed = false;
  #wake: (() => void) | undefined;
  #woken: Promise<void> | undefined;

  constructor(runId: string, sinks: readonly EventSink[]) {
    this.#runId = runId;
    this.#sinks = sinks;
  }

  emit(input: StewardEventInput): StewardEvent {
    if (this.#closed) throw new Error(`Run ${this.#runId} already ended; cannot emit ${input.type}`);
    const event = {
      ...input,
      run_id: this.#runId,
      seq: this.#events.length + 1,
      timestamp: new Date().toISOString(),
    } as StewardEvent;
    this.#events.push(event);
    for (const sink of this.#sinks) sink(event);
    this.#notify();
    return event;
  }

  /** Ends the stream; iterators finish once they have read every event. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    this.#woken = undefined;
    wake?.();
  }

  #nextChange(): Promise<void> {
    this.#woken ??= new Promise((resolve) => {
      this.#wake = resolve;
    });
    return this.#woken;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StewardEvent> {
    let index = 0;
    while (true) {
      while (index < this.#events.length) {
        yield this.#events[index++] as StewardEvent;
      }
      if (this.#closed) return;
      await this.#nextChange();
    }
  }
}
