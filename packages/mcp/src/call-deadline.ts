import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * @internal The timeout of one MCP call, kept here rather than by the SDK because it must stop
 * while the server waits for the user (an elicitation), which the SDK's cannot. Like the SDK's
 * with `resetTimeoutOnProgress`: progress restarts it, and `maxTotalMs` of ticking time bounds a
 * call that keeps reporting progress. `signal` aborts with the SDK's own timeout error.
 */
export class CallDeadline {
  readonly #controller = new AbortController();
  readonly #timeoutMs: number;
  readonly #maxTotalMs: number;
  /** Ticking time used before the current stretch began. */
  #usedMs = 0;
  #stretchStart = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #holds = 0;

  constructor(timeoutMs: number, maxTotalMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#maxTotalMs = maxTotalMs;
    this.#start();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Progress arrived: the call gets `timeoutMs` again, within what is left of `maxTotalMs`. */
  progress(): void {
    if (this.#holds > 0 || this.signal.aborted) return;
    clearTimeout(this.#timer);
    this.#usedMs += performance.now() - this.#stretchStart;
    this.#start();
  }

  /** Stops the clock until the returned release is called (once). Holds nest. */
  hold(): () => void {
    if (this.#holds++ === 0 && !this.signal.aborted) {
      clearTimeout(this.#timer);
      this.#usedMs += performance.now() - this.#stretchStart;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds === 0 && !this.signal.aborted) this.#start();
    };
  }

  clear(): void {
    clearTimeout(this.#timer);
  }

  #start(): void {
    this.#stretchStart = performance.now();
    const left = this.#maxTotalMs - this.#usedMs;
    const total = left <= this.#timeoutMs;
    this.#timer = setTimeout(
      () =>
        this.#controller.abort(
          new McpError(
            ErrorCode.RequestTimeout,
            total ? 'Maximum total timeout exceeded' : 'Request timed out',
            total ? { maxTotalTimeout: this.#maxTotalMs } : { timeout: this.#timeoutMs },
          ),
        ),
      Math.max(1, Math.min(this.#timeoutMs, left)),
    );
  }
}
