import pRetry from 'p-retry';
import { isStewardError, StewardError } from '../errors/steward-error.ts';
import type { StewardEvent } from '../events/stream-event.ts';
import type { RunFence, Storage } from '../storage/storage.ts';

/** @internal How a failed batch is retried before the log gives up. */
export interface EventLogRetry {
  /** Attempts after the first. */
  readonly retries: number;
  readonly minTimeoutMs: number;
  readonly maxTimeoutMs: number;
}

/**
 * @internal Enough to ride out a connection blip and a reconnect (a few seconds in all), short
 * enough that a run on a dead store ends promptly and says why.
 */
export const defaultEventLogRetry: EventLogRetry = { retries: 5, minTimeoutMs: 100, maxTimeoutMs: 2_000 };

/**
 * @internal Persists a run's events in batches: a network read delivers many tokens in one turn,
 * far faster than a database round-trip, so events queue for one macrotask (or while a write is
 * in flight) and go out together. Order is kept because only one write runs at a time.
 *
 * A failed batch is sent again as it was (appends are idempotent, so a batch whose reply was
 * lost is not refused as a gap). When it still fails after the retries, the log stops (a gap
 * would break every later append), remembers why, and tells the run through `onError`, which
 * ends it: a run is never reported complete with events missing.
 */
export class EventLog {
  readonly #storage: Storage;
  readonly #runId: string;
  readonly #onError: (error: StewardError) => void;
  readonly #retry: EventLogRetry;
  readonly #fence: RunFence | undefined;
  #pending: StewardEvent[] = [];
  #writing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #enabled = false;
  #failure: StewardError | undefined;
  /** The newest seq queued: the run's end appends `final` itself before its stream publishes it. */
  #lastSeq = 0;

  constructor(
    storage: Storage,
    runId: string,
    onError: (error: StewardError) => void,
    retry: EventLogRetry = defaultEventLogRetry,
    /** The run's fence as its loop holds it (read at each write, so a claim's new epoch applies). */
    fence?: RunFence,
  ) {
    this.#storage = storage;
    this.#runId = runId;
    this.#onError = onError;
    this.#retry = retry;
    this.#fence = fence;
  }

  /** Why the log stopped writing, once it has. */
  get failure(): StewardError | undefined {
    return this.#failure;
  }

  /** Called once the run record exists; events queued before then are written first. */
  enable(): void {
    this.#enabled = true;
    this.#schedule();
  }

  append(event: StewardEvent): void {
    if (this.#failure !== undefined || event.seq <= this.#lastSeq) return;
    this.#lastSeq = event.seq;
    this.#pending.push(event);
    this.#schedule();
  }

  /**
   * Writes what is queued now, without waiting for the batch timer. Resolves when all is
   * written; rejects with the log's failure when something could not be.
   */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#startWriting();
    }
    while (this.#writing !== undefined) await this.#writing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  #schedule(): void {
    if (
      !this.#enabled ||
      this.#writing !== undefined ||
      this.#timer !== undefined ||
      this.#pending.length === 0
    )
      return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#startWriting();
    }, 0);
  }

  #startWriting(): void {
    if (this.#writing !== undefined || this.#pending.length === 0) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      this.#schedule();
    });
  }

  #append(batch: readonly StewardEvent[]): Promise<void> {
    const fence = this.#fence;
    return fence === undefined
      ? this.#storage.appendEvents(this.#runId, batch)
      : this.#storage.appendEvents(this.#runId, batch, { epoch: fence.epoch });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 && this.#failure === undefined) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await pRetry(() => this.#append(batch), {
          retries: this.#retry.retries,
          minTimeout: this.#retry.minTimeoutMs,
          maxTimeout: this.#retry.maxTimeoutMs,
          randomize: true,
          // A refusal (a gap, a conflict, text it cannot store) will not heal by sending the
          // batch again; a lost connection may. Adapters say which through `retryable`.
          shouldRetry: ({ error }) => !isRefusal(error),
        });
      } catch (error) {
        // Fenced: another instance owns the run now. Said as it is, so the run stops quietly.
        this.#failure = isStewardError(error, 'run_fenced')
          ? error
          : new StewardError(
              'storage_error',
              `Events of run ${this.#runId} from seq ${batch[0]?.seq} on could not be stored`,
              { cause: error, retryable: true, details: { runId: this.#runId, fromSeq: batch[0]?.seq } },
            );
        this.#pending = [];
        this.#onError(this.#failure);
      }
    }
  }
}

/** @internal */
export function isFenced(error: unknown): boolean {
  return isStewardError(error, 'run_fenced');
}

/** A storage error the adapter says will not succeed when tried again (a gap, a conflict). */
function isRefusal(error: unknown): boolean {
  return StewardError.isInstance(error) && !error.retryable;
}
