import type { Coordinator, SessionLease } from '../coordination/coordinator.ts';
import { StewardError } from '../errors/steward-error.ts';
import { delay } from '../internal/abort.ts';
import type { Storage } from '../storage/storage.ts';
import type { AssistantLimits } from './assistant-options.ts';

/** @internal What admitting a run needs from its assistant. */
export interface AdmissionContext {
  readonly storage: Storage;
  readonly coordinator: Coordinator;
  readonly limits: AssistantLimits;
  readonly rateLimit: { readonly runs: number; readonly windowMs: number } | undefined;
  /** Names this instance as a session lock's owner. */
  readonly instanceId: string;
}

/**
 * @internal Admission of a new run: the user's rate limit, the session's owner, then its lock
 * (unless sessions may run in parallel). Rejects with `rate_limited`, `session_not_found` or
 * `session_busy`; resolves the lease to hold while the run lives.
 */
export async function admit(
  context: AdmissionContext,
  init: { readonly runId: string; readonly sessionId: string; readonly userId: string },
  lockTtlMs: number,
): Promise<SessionLease | undefined> {
  const { coordinator, limits, rateLimit, storage } = context;
  if (rateLimit !== undefined) {
    const verdict = await coordinator.rateLimit(`user:${init.userId}`, {
      limit: rateLimit.runs,
      windowMs: rateLimit.windowMs,
    });
    if (!verdict.allowed) {
      throw new StewardError(
        'rate_limited',
        `Too many runs; try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s`,
        {
          details: { retryAfterMs: verdict.retryAfterMs },
        },
      );
    }
  }
  // Ownership first: another user's session is `session_not_found`, never a glimpse of its lock.
  await storage.ensureSession(init.sessionId, { userId: init.userId });
  if (!limits.exclusiveSessions) return undefined;
  const lease = await coordinator.acquireSessionLock(init.sessionId, {
    owner: `${context.instanceId}:${init.runId}`,
    ttlMs: lockTtlMs,
  });
  if (lease === undefined)
    throw new StewardError('session_busy', `Session ${init.sessionId} already has an active run`);
  return lease;
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
  const deadline = Date.now() + lockTtlMs + limits.approvalPollMs * 2;
  while (true) {
    const lease = await coordinator.acquireSessionLock(sessionId, {
      owner: `${context.instanceId}:${runId}`,
      ttlMs: lockTtlMs,
    });
    if (lease !== undefined) return { lease };
    const now = await storage.getRun(runId, { userId });
    if (now?.status !== 'awaiting_approval' || Date.now() > deadline) return undefined;
    await delay(Math.min(100, limits.heartbeatMs));
  }
}
