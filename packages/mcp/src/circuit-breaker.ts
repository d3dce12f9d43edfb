/** Options of a circuit breaker. */
export interface CircuitBreakerOptions {
  /** Outcomes older than this leave the window. Default 60,000 ms. */
  readonly windowMs: number;
  /** The circuit never opens on fewer calls than this in the window. Default 5. */
  readonly minimumCalls: number;
  /** Failure share in the window (0–1) that opens the circuit. Default 0.5. */
  readonly failureRate: number;
  /** How long an open circuit rejects calls before letting one trial through. Default 30,000 ms. */
  readonly coolDownMs: number;
}

/** `closed`: calls flow. `open`: calls fail fast. `half_open`: one trial call decides. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * @internal A failure-rate circuit breaker for one server: it opens when too many recent calls
 * failed, rejects calls for a cool-down, then lets a single trial call through.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #now: () => number;
  #outcomes: { at: number; failed: boolean }[] = [];
  #openedAt: number | undefined;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  get state(): CircuitState {
    if (this.#openedAt === undefined) return 'closed';
    return this.#now() - this.#openedAt >= this.#options.coolDownMs ? 'half_open' : 'open';
  }

  /** Whether a call may go out now. In `half_open`, only one call at a time is let through. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  /**
   * A call that ended without a word about the server (its caller stopped waiting): nothing is
   * counted, and in `half_open` the next call may be the trial.
   */
  abandon(): void {
    this.#trialInFlight = false;
  }

  record(failed: boolean): void {
    const now = this.#now();
    if (this.#openedAt !== undefined) {
      // The trial call decides: close on success, stay open for another cool-down on failure.
      this.#trialInFlight = false;
      if (failed) this.#openedAt = now;
      else {
        this.#openedAt = undefined;
        this.#outcomes = [];
      }
      return;
    }
    this.#outcomes.push({ at: now, failed });
    this.#outcomes = this.#outcomes.filter((outcome) => now - outcome.at < this.#options.windowMs);
    const failures = this.#outcomes.filter((outcome) => outcome.failed).length;
    if (
      this.#outcomes.length >= this.#options.minimumCalls &&
      failures / this.#outcomes.length >= this.#options.failureRate
    ) {
      this.#openedAt = now;
    }
  }
}
