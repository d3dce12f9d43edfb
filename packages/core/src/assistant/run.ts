import type { StewardError } from '../errors/steward-error.ts';
import type { StewardEvent, StopReason } from '../events/stream-event.ts';
import type { Usage } from '../events/usage.ts';
import type { Message } from '../model/message.ts';
import type { RunEventStream } from './run-event-stream.ts';

/** How a run ended. `run.result` resolves with it whatever happened; failures are in `error`. */
export interface RunResult {
  readonly runId: string;
  readonly sessionId: string;
  /** Everything the model said in this run, as the `token` events carried it. */
  readonly text: string;
  /** The messages this run added to the session, its user input first. */
  readonly messages: readonly Message[];
  readonly usage: Usage;
  /** How the run ended; `handed_off` when another instance resumed it after a pause and goes on there. */
  readonly stopReason: StopReason | 'handed_off';
  /** True when the answer was cut short (stall, abort, timeout, error). */
  readonly partial: boolean;
  /** The failure that ended the run, when it ended on one. */
  readonly error?: StewardError;
}

/**
 * One run of the assistant, already under way. Iterate it for events (every iteration starts
 * at `seq` 1), await `result` for the outcome, or `abort()` it.
 *
 * @example
 * ```ts
 * const run = assistant.run({ input: 'Hi', userId: 'u1' });
 * for await (const event of run) if (event.type === 'token') process.stdout.write(event.text);
 * const { text, usage } = await run.result;
 * ```
 */
export class Run implements AsyncIterable<StewardEvent> {
  readonly id: string;
  readonly sessionId: string;
  readonly result: Promise<RunResult>;
  readonly #events: RunEventStream;
  readonly #controller: AbortController;

  /** @internal Runs are made by `Assistant.run()`. */
  constructor(init: {
    id: string;
    sessionId: string;
    events: RunEventStream;
    controller: AbortController;
    result: Promise<RunResult>;
  }) {
    this.id = init.id;
    this.sessionId = init.sessionId;
    this.#events = init.events;
    this.#controller = init.controller;
    this.result = init.result;
  }

  /** Stops the model stream and running tools. The partial answer is kept; `final` says `aborted`. */
  abort(reason?: unknown): void {
    this.#controller.abort(reason ?? new Error('Run aborted by the caller'));
  }

  [Symbol.asyncIterator](): AsyncIterator<StewardEvent> {
    return this.#events[Symbol.asyncIterator]();
  }
}
