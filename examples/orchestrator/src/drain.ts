import { Assistant, type OwnerScope, type Run, type RunInput, StewardError } from '@steward/core';
import { sleep } from './timing.ts';

/** A run whose loop lives in this process, and whom it belongs to. */
export interface LocalRun {
  readonly run: Run;
  readonly userId: string;
}

/**
 * An {@link Assistant} that knows which runs live in this process, so a shutdown can wait for
 * them and abort what is left. Core keeps that list private (`Assistant` has no drain hook), so
 * the example tracks the runs at the three ways in: `run()`, `start()` (the API's respond) and
 * `resume()` (an approval that resumes a paused run here).
 */
export class TrackedAssistant extends Assistant {
  readonly #local = new Map<string, LocalRun>();

  /** The runs under way in this process. */
  get localRuns(): readonly LocalRun[] {
    return [...this.#local.values()];
  }

  override run(input: RunInput): Run {
    return this.#track(super.run(input), input.userId);
  }

  override async start(input: RunInput): Promise<Run> {
    return this.#track(await super.start(input), input.userId);
  }

  override async resume(runId: string, scope: OwnerScope): Promise<Run | undefined> {
    const run = await super.resume(runId, scope);
    return run === undefined ? undefined : this.#track(run, scope.userId);
  }

  #track(run: Run, userId: string): Run {
    const entry = { run, userId };
    this.#local.set(run.id, entry);
    void run.result.finally(() => {
      if (this.#local.get(run.id) === entry) this.#local.delete(run.id);
    });
    return run;
  }
}

/** What {@link drainRuns} did with the runs it found. */
export interface DrainReport {
  /** Runs that ended on their own while the drain waited. */
  readonly finished: number;
  /** Runs paused for approval, left as they are: an approval on any instance resumes them there. */
  readonly parked: readonly string[];
  /** Runs still working at the deadline, aborted (their partial answers are kept). */
  readonly aborted: readonly string[];
}

/**
 * Waits for this process's runs to end, up to `timeoutMs`, then aborts the ones still working.
 * A run paused for approval is not waited for: it is stored as `awaiting_approval`, and whoever
 * approves it on another instance resumes it there once this process is gone. `hurry` (a second
 * signal) cuts the wait short.
 */
export async function drainRuns(
  assistant: TrackedAssistant,
  options: { timeoutMs: number; hurry?: AbortSignal; pollMs?: number; settleMs?: number },
): Promise<DrainReport> {
  const { timeoutMs, hurry, pollMs = 250, settleMs = 10_000 } = options;
  const deadline = Date.now() + timeoutMs;
  const initial = new Set(assistant.localRuns.map((local) => local.run.id));
  const hurried = hurry === undefined ? [] : [aborted(hurry)];
  while (true) {
    const working: LocalRun[] = [];
    const parked: string[] = [];
    for (const local of assistant.localRuns) {
      const record = await assistant.storage
        .getRun(local.run.id, { userId: local.userId })
        .catch(() => undefined);
      if (record?.status === 'awaiting_approval') parked.push(local.run.id);
      else working.push(local);
    }
    const finished = [...initial].filter(
      (id) => !assistant.localRuns.some((local) => local.run.id === id),
    ).length;
    if (working.length === 0) return { finished, parked, aborted: [] };
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0 || hurry?.aborted === true) {
      const reason = new StewardError('run_aborted', 'The instance shut down before the run finished');
      for (const local of working) local.run.abort(reason);
      // The loop stores the partial answer and `final` before its result resolves.
      await Promise.race([Promise.all(working.map((local) => local.run.result)), sleep(settleMs)]);
      return { finished, parked, aborted: working.map((local) => local.run.id) };
    }
    await Promise.race([
      ...working.map((local) => local.run.result),
      sleep(Math.min(pollMs, remainingMs)),
      ...hurried,
    ]);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
