/**
 * @internal A timeout that stops ticking while held and goes on with the time it had left: a
 * run's timeout while the run waits for the user's decision, a run's and a tool call's while
 * the tool waits for the user's input. Holds nest (parallel calls may each wait); the time runs
 * again when the last one is released.
 */
export class PausableTimer {
  readonly #onExpire: () => void;
  readonly #now: () => number;
  #remainingMs: number;
  #startedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #holds = 0;
  #cleared = false;

  constructor(ms: number, onExpire: () => void, now: () => number) {
    this.#onExpire = onExpire;
    this.#now = now;
    this.#remainingMs = ms;
    this.#start();
  }

  /** Stops the clock until the returned release is called (once; later calls do nothing). */
  hold(): () => void {
    if (this.#cleared) return () => {};
    if (this.#holds++ === 0) {
      clearTimeout(this.#timer);
      // At least 1 ms stays, so a release always lets the timer fire rather than never.
      this.#remainingMs = Math.max(1, this.#remainingMs - (this.#now() - this.#startedAt));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds === 0 && !this.#cleared) this.#start();
    };
  }

  /** Stops the timer for good. */
  clear(): void {
    this.#cleared = true;
    clearTimeout(this.#timer);
  }

  #start(): void {
    this.#startedAt = this.#now();
    this.#timer = setTimeout(() => {
      this.#cleared = true;
      this.#onExpire();
    }, this.#remainingMs);
  }
}
