import type { Coordinator, SessionLease, SlotLease } from '../coordination/coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import { delay } from '../internal/abort.ts';
import { quotaExceeded, type TokenBudget } from '../quota/token-budget.ts';
import type { Storage } from '../storage/storage.ts';
import type { AssistantLimits, RunAdmission } from './assistant-options.ts';

/** @internal What admitting a run needs from its assistant. */
export interface AdmissionContext {
  readonly storage: Storage;
  readonly coordinator: Coordinator;
  readonly limits: AssistantLimits;
  readonly rateLimit: { readonly runs: number; readonly windowMs: number } | undefined;
  /** The assistant's own cap on a user's active runs. */
  readonly maxActiveRuns?: number | undefined;
  /** Names this instance as a session lock's owner. */
  readonly instanceId: string;
  /** The assistant's clock, milliseconds since the epoch. */
  readonly now: () => number;
  /** Users' token budgets: a user whose budget is spent is refused with `quota_exceeded`. */
  readonly budget?: TokenBudget | undefined;
}

/**
 * @internal Admission of a new run: the user's rate limits, the user's active-run cap, the
 * session's owner, then its lock (unless sessions may run in parallel). The assistant's limits
 * and the run's own (`init.admission`, a host's) both apply. Rejects with `rate_limited`,
 * `too_many_active_runs`, `quota_exceeded`, `session_not_found` or `session_busy`, having stored nothing; resolves
 * the lease to hold while the run lives (the heartbeat extends it, the run's end releases it).
 */
export async function admit(
  context: AdmissionContext,
  init: {
    readonly runId: string;
    readonly sessionId: string;
    readonly userId: string;
    readonly admission?: RunAdmission | undefined;
  },
  lockTtlMs: number,
): Promise<SessionLease | undefined> {
  const { coordinator, limits, storage } = context;
  const owner = `${context.instanceId}:${init.runId}`;
  const standing = await context.budget?.check(init.userId);
  if (standing?.allowed === false) throw quotaExceeded(standing);
  for (const [windowMs, runs] of rateLimitsOf(context.rateLimit, init.admission?.rateLimit)) {
    const verdict = await coordinator.rateLimit(`user:${init.userId}:${windowMs}`, { limit: runs, windowMs });
    if (!verdict.allowed) {
      throw new StewardError(
        'rate_limited',
        `Too many runs; try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
        { details: { retryAfterMs: verdict.retryAfterMs, limit: runs, windowMs } },
      );
    }
  }
  const cap = smallest(context.maxActiveRuns, init.admission?.maxActiveRuns);
  // The slot comes before anything is stored, so a refused run leaves no session behind.
  const slot =
    cap === undefined
      ? undefined
      : await coordinator.acquireSlot(`active-runs:${init.userId}`, { owner, limit: cap, ttlMs: lockTtlMs });
  if (cap !== undefined && slot === undefined) {
    // Nobody knows when a run ends: one heartbeat is the hint, as often as a dead one's slot may free.
    throw new StewardError(
      'too_many_active_runs',
      `Too many active runs: at most ${cap} at once; try again when one has ended`,
      { details: { limit: cap, retryAfterMs: limits.heartbeatMs } },
    );
  }
  try {
    // Ownership first: another user's session is `session_not_found`, never a glimpse of its lock.
    await storage.ensureSession(init.sessionId, { userId: init.userId });
    if (!limits.exclusiveSessions) return withSlot(undefined, slot);
    const lease = await coordinator.acquireSessionLock(init.sessionId, { owner, ttlMs: lockTtlMs });
    if (lease === undefined)
      throw new StewardError('session_busy', `Session ${init.sessionId} already has an active run`);
    return withSlot(lease, slot);
  } catch (error) {
    await slot?.release().catch(() => {}); // Unreleased, it expires after lockTtlMs.
    throw error;
  }
}

/** The rate limits that apply, one per window with the smallest count: `[windowMs, runs]`. */
function rateLimitsOf(
  ...limits: ({ readonly runs: number; readonly windowMs: number } | undefined)[]
): Map<number, number> {
  const byWindow = new Map<number, number>();
  for (const limit of limits) {
    if (limit === undefined) continue;
    byWindow.set(limit.windowMs, Math.min(limit.runs, byWindow.get(limit.windowMs) ?? limit.runs));
  }
  return byWindow;
}

function smallest(...values: (number | undefined)[]): number | undefined {
  const defined = values.filter((value) => value !== undefined);
  return defined.length === 0 ? undefined : Math.min(...defined);
}

/**
 * The session lock and the active-run slot as the one lease a run holds. Only a lost lock ends
 * the run (two runs must never write one session); a slot that expired (its extension came too
 * late) just stops counting the run.
 */
function withSlot(lock: SessionLease | undefined, slot: SlotLease | undefined): SessionLease | undefined {
  if (slot === undefined) return lock;
  return {
    token: lock?.token ?? 0,
    async release() {
      const [released] = await Promise.all([lock?.release() ?? true, slot.release().catch(() => false)]);
      return released;
    },
    async extend(ttlMs) {
      const [held] = await Promise.all([lock?.extend(ttlMs) ?? true, slot.extend(ttlMs).catch(() => false)]);
      return held;
    },
  };
}

/**
 * @internal The session lock for resuming a paused run. Polls until it is free (a dead owner's
 * lock expires after three heartbeats) or the run left `awaiting_approval` (its live owner went
 * on with it). Resolves `{}` when sessions are not exclusive, `undefined` when this should not
 * resume.
 */
export async function lockForResume(
  context: AdmissionContext,
  runId: string,
  sessionId: string,
  userId: string,
): Promise<{ lease?: SessionLease } | undefined> {
  const { coordinator, limits, storage } = context;
  if (!limits.exclusiveSessions) return {};
  const lockTtlMs = limits.heartbeatMs * 3;
  const deadline = context.now() + lockTtlMs + limits.approvalPollMs * 2;
  while (true) {
    const lease = await coordinator.acquireSessionLock(sessionId, {
      owner: `${context.instanceId}:${runId}`,
      ttlMs: lockTtlMs,
    });
    if (lease !== undefined) return { lease };
    const now = await storage.getRun(runId, { userId });
    if (now?.status !== 'awaiting_approval' || context.now() > deadline) return undefined;
    await delay(Math.min(100, limits.heartbeatMs));
  }
}
