import type { StewardEvent } from '../events/stream-event.ts';
import type { Storage } from '../storage/storage.ts';

/**
 * @internal Persists a run's events in batches: tokens arrive far faster than a database
 * round-trip, so events queue while one write is in flight and go out together in the next.
 * Order is kept because only one write runs at a time.
 */
export class EventLog {
  readonly #storage: Storage;
  readonly #runId: string;
  readonly #onError: (error: unknown) => void;
  #pending: StewardEvent[] = [];
  #writing: Promise<void> | undefined;
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

  /** Resolves when everything appended so far is written (or the log has failed). */
  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
  }

  #schedule(): void {
    if (!this.#enabled || this.#writing !== undefined || this.#pending.length === 0) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      // Events appended after the drain's last check but before this callback still need a write.
      this.#schedule();
    });
  }

  async #drain(): Promise<void> {
    // Yield once so the events of one synchronous burst go out in one write.
    await Promise.resolve();
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
