import type { StewardEvent } from '../events/stream-event.ts';
import type { InputResponse } from '../tools/input-request.ts';

/** A held session lock. `token` rises with every acquisition (a fencing token). */
export interface SessionLease {
  readonly token: number;
  /** Gives the lock up if this holder still has it; resolves whether it did. */
  release(): Promise<boolean>;
  /** Extends the lock if this holder still has it; resolves whether it did (false: it was lost). */
  extend(ttlMs: number): Promise<boolean>;
}

/** A held slot among a key's limited holders (one of a user's active runs). */
export interface SlotLease {
  /** Frees the slot if this holder still has it; resolves whether it did. */
  release(): Promise<boolean>;
  /** Extends the slot if this holder still has it; resolves whether it did (false: it expired). */
  extend(ttlMs: number): Promise<boolean>;
}

/** The outcome of counting one request against a rate limit. */
export interface RateLimitResult {
  readonly allowed: boolean;
  readonly remaining: number;
  /** When refused: how long until a request would be allowed again. */
  readonly retryAfterMs: number;
}

/**
 * The coordination seam between instances of an assistant: who may run in a session, how often
 * a user may start runs and how many may be active at once, how a stop reaches the instance running a run, and (optionally) how
 * any instance tails a run's events live. `createInMemoryCoordinator()` serves one process;
 * `@steward/storage-redis` serves many.
 */
export interface Coordinator {
  /** Takes the session's lock for `owner`, or resolves `undefined` while someone else holds it. */
  acquireSessionLock(
    sessionId: string,
    options: { owner: string; ttlMs: number },
  ): Promise<SessionLease | undefined>;
  /** Counts one request under `key`; refused once `limit` requests fall within the last `windowMs`. */
  rateLimit(key: string, options: { limit: number; windowMs: number }): Promise<RateLimitResult>;
  /**
   * Takes one of `limit` slots under `key` for `owner` (a counting semaphore: a user's active
   * runs), or resolves `undefined` while `limit` other holders have one. A slot lives `ttlMs`
   * unless extended, so the slots of an instance that died free themselves.
   */
  acquireSlot(
    key: string,
    options: { owner: string; limit: number; ttlMs: number },
  ): Promise<SlotLease | undefined>;
  /** Asks whichever instance runs `runId` to stop it. */
  requestStop(runId: string): Promise<void>;
  /**
   * Whether a stop was requested for `runId`, for a run whose instance missed the message (it
   * was reconnecting). Checked on every heartbeat. Optional: without it, stops are messages only.
   */
  stopRequested?(runId: string): Promise<boolean>;
  /** Calls `listener` with the run id of every stop request, from any instance. Returns an unsubscribe. */
  watchStops(listener: (runId: string) => void): () => void;
  /**
   * Sends the user's answer to a tool's request for input to every instance; the one whose tool
   * call asked (the request is open there only) takes it. The answer was checked by the sender
   * and may hold what the user typed: deliver it, never keep it. Optional: without it, only the
   * instance running a run can answer its requests.
   */
  deliverInput?(runId: string, requestId: string, response: InputResponse): Promise<void>;
  /** Calls `listener` with every answer delivered, from any instance. Returns an unsubscribe. */
  watchInputs?(listener: (runId: string, requestId: string, response: InputResponse) => void): () => void;
  /**
   * Every event of a run after `afterSeq`, then each new one as any instance appends it, until
   * `final` or `signal` aborts. Without it, an assistant follows runs of other instances by
   * polling storage.
   */
  tailEvents?(
    runId: string,
    options: { afterSeq: number; signal?: AbortSignal },
  ): AsyncIterable<StewardEvent>;
}
