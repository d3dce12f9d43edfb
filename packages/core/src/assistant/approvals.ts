import { StewardError } from '../errors/steward-error.ts';
import type { ApprovalRecord } from '../storage/consent-records.ts';
import type { OwnerScope, Storage } from '../storage/storage.ts';

/**
 * @internal Records the user's decision on a waiting call: only its owner may decide (another
 * user's call reads as missing), only once, and only before it expires. The move from `pending`
 * is a check-and-set in storage, so two racing decisions cannot both win.
 */
export async function decide(
  storage: Storage,
  callId: string,
  scope: OwnerScope,
  decision: { status: 'approved' | 'denied'; reason?: string },
  now: () => number,
): Promise<ApprovalRecord> {
  const approval = await storage.getApproval(callId, scope);
  if (approval === undefined) throw new StewardError('approval_not_found', `No approval for call ${callId}`);
  const at = new Date(now());
  if (approval.status === 'expired') {
    throw new StewardError(
      'approval_expired',
      `The approval for call ${callId} expired at ${approval.expiresAt}`,
    );
  }
  if (approval.status === 'pending' && Date.parse(approval.expiresAt) <= at.getTime()) {
    const expired = await storage.transitionApproval(callId, 'pending', { status: 'expired' });
    if (expired !== undefined) {
      await storage.appendAudit({
        at: at.toISOString(),
        action: 'approval_expired',
        userId: approval.userId,
        actor: 'steward',
        runId: approval.runId,
        callId,
        toolName: approval.toolName,
        argsHash: approval.argsHash,
      });
    }
    throw new StewardError(
      'approval_expired',
      `The approval for call ${callId} expired at ${approval.expiresAt}`,
    );
  }
  const decided = await storage.transitionApproval(callId, 'pending', {
    status: decision.status,
    decidedAt: at.toISOString(),
    decidedBy: scope.userId,
    ...(decision.reason === undefined ? {} : { reason: decision.reason }),
  });
  if (decided === undefined) {
    throw new StewardError(
      'approval_conflict',
      `The approval for call ${callId} was already ${approval.status}`,
    );
  }
  await storage.appendAudit({
    at: at.toISOString(),
    action: decision.status === 'approved' ? 'approval_granted' : 'approval_denied',
    userId: approval.userId,
    actor: scope.userId,
    runId: approval.runId,
    callId,
    toolName: approval.toolName,
    argsHash: approval.argsHash,
    ...(decision.reason === undefined ? {} : { detail: decision.reason }),
  });
  return decided;
}

/** @internal Stores a standing permission and audits it. */
export async function grantPermission(
  storage: Storage,
  scope: OwnerScope & { toolName: string; sessionId?: string },
  now: () => number,
): Promise<void> {
  const at = new Date(now()).toISOString();
  await storage.grantToolPermission({
    userId: scope.userId,
    toolName: scope.toolName,
    ...(scope.sessionId === undefined ? {} : { sessionId: scope.sessionId }),
    grantedAt: at,
  });
  await storage.appendAudit({
    at,
    action: 'permission_granted',
    userId: scope.userId,
    actor: scope.userId,
    toolName: scope.toolName,
    detail: scope.sessionId === undefined ? 'always' : `session ${scope.sessionId}`,
  });
}

/** @internal Removes a standing permission and audits it. */
export async function revokePermission(
  storage: Storage,
  scope: OwnerScope & { toolName: string; sessionId?: string },
  now: () => number,
): Promise<boolean> {
  const removed = await storage.revokeToolPermission({
    userId: scope.userId,
    toolName: scope.toolName,
    ...(scope.sessionId === undefined ? {} : { sessionId: scope.sessionId }),
  });
  if (removed) {
    await storage.appendAudit({
      at: new Date(now()).toISOString(),
      action: 'permission_revoked',
      userId: scope.userId,
      actor: scope.userId,
      toolName: scope.toolName,
      detail: scope.sessionId === undefined ? 'always' : `session ${scope.sessionId}`,
    });
  }
  return removed;
}
