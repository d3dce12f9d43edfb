import type { StewardEvent } from '../events/stream-event.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * @internal Persists a run's events in batches: a network read delivers many tokens in one turn,
 * far faster than a database round-trip, so events queue for one macrotask (or while a write is
 * in flight) and go out together. Order is kept because only one write runs at a time.
 */
export class EventLog {
  readonly #storage: Storage;
  readonly #runId: string;
  readonly #onError: (error: unknown) => void;
  #pending: StewardEvent[] = [];
  #writing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #enabled = false;
  #failed = false;

  constructor(storage: Storage, runId: string, onError: (error: unknown) => void) {
    this.#storage = storage;
    this.#runId = runId;
    this.#onError = onError;
  }

  /** Called once the run record exists; events queued before then are written first. */
  enable(): void {
    this.#enabled = true;
    this.#schedule();
  }

  append(event: StewardEvent): void {
    if (this.#failed) return;
    this.#pending.push(event);
    this.#schedule();
  }

  /** Writes what is queued now, without waiting for the batch timer; resolves when all is written. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#startWriting();
    }
    while (this.#writing !== undefined) await this.#writing;
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

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 && !this.#failed) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await this.#storage.appendEvents(this.#runId, batch);
      } catch (error) {
        // A gap would break every later append; stop writing and say so once.
        this.#failed = true;
        this.#pending = [];
        this.#onError(error);
      }
    }
  }
}
