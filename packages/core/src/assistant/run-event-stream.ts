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
  /** The last event, stamped by {@link seal} but not yet published. */
  #sealed: StewardEvent | undefined;
  readonly #seqOffset: number;
  readonly #clock: () => number;
  #lastMillis = Number.NaN;
  #lastIso = '';
  #waiters: (() => void)[] = [];

  /**
   * `firstSeq` > 1 continues a stored run (a resume): earlier events stay in storage. `now` is
   * the assistant's clock (milliseconds since the epoch) that stamps every event.
   */
  constructor(runId: string, sinks: readonly EventSink[], firstSeq = 1, now: () => number = Date.now) {
    this.#runId = runId;
    this.#sinks = sinks;
    this.#seqOffset = firstSeq - 1;
    this.#clock = now;
  }

  emit(input: StewardEventInput): StewardEvent {
    if (this.#closed || this.#sealed !== undefined)
      throw new Error(`Run ${this.#runId} already ended; cannot emit ${input.type}`);
    // Frozen: the same object goes to every iterator, observer and the event log.
    const event = Object.freeze({
      ...input,
      run_id: this.#runId,
      seq: this.#seqOffset + this.#events.length + 1,
      timestamp: this.#now(),
    }) as StewardEvent;
    this.#publish(event);
    return event;
  }

  /** `emit` for the hottest event: one fixed object shape, no spread. */
  emitToken(text: string): void {
    if (this.#closed || this.#sealed !== undefined)
      throw new Error(`Run ${this.#runId} already ended; cannot emit token`);
    this.#publish(
      Object.freeze({
        type: 'token',
        text,
        run_id: this.#runId,
        seq: this.#seqOffset + this.#events.length + 1,
        timestamp: this.#now(),
      }),
    );
  }

  #publish(event: StewardEvent): void {
    this.#events.push(event);
    for (const sink of this.#sinks) sink(event);
    this.#notify();
  }

  /**
   * Stamps the run's last event without publishing it: nothing can be emitted after it, and
   * nobody sees it until {@link publishSealed}. The run stores it and frees its session first,
   * so whoever reads `final` finds the session free and the event stored.
   */
  seal(input: StewardEventInput): StewardEvent {
    if (this.#closed || this.#sealed !== undefined)
      throw new Error(`Run ${this.#runId} already ended; cannot seal ${input.type}`);
    this.#sealed = Object.freeze({
      ...input,
      run_id: this.#runId,
      seq: this.#seqOffset + this.#events.length + 1,
      timestamp: this.#now(),
    }) as StewardEvent;
    return this.#sealed;
  }

  /** Publishes the sealed event to iterators and sinks, then closes the stream. */
  publishSealed(): void {
    const sealed = this.#sealed;
    if (sealed === undefined || this.#closed) return;
    this.#publish(sealed);
    this.close();
  }

  /** Ends the stream; iterators finish once they have read every event. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * ISO-8601 time, formatted once per millisecond: a token burst shares one string, where
   * `toISOString` per event would be most of an event's cost on a fast stream.
   */
  #now(): string {
    const now = this.#clock();
    if (now !== this.#lastMillis) {
      this.#lastMillis = now;
      this.#lastIso = new Date(now).toISOString();
    }
    return this.#lastIso;
  }

  #notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<StewardEvent> {
    // A plain iterator, not an async generator: a buffered event resolves at once, and a waiting
    // reader is handed the event directly by `emit`, one promise per event and no extra hops.
    let index = 0;
    const read = (): IteratorResult<StewardEvent> =>
      index < this.#events.length
        ? { value: this.#events[index++] as StewardEvent, done: false }
        : { value: undefined, done: true };
    return {
      next: () => {
        if (index < this.#events.length || this.#closed) return Promise.resolve(read());
        return new Promise((resolve) => {
          this.#waiters.push(() => resolve(read()));
        });
      },
      return: () => {
        index = Number.POSITIVE_INFINITY;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
