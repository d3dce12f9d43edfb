import { StewardError } from '../errors/steward-error.ts';
import type { ApprovalKind, ApprovalRecord, AuditAction } from '../storage/consent-records.ts';
import type { OwnerScope, Storage } from '../storage/storage.ts';

const actions: Record<ApprovalKind, Record<'approved' | 'denied' | 'expired', AuditAction>> = {
  consent: { approved: 'approval_granted', denied: 'approval_denied', expired: 'approval_expired' },
  authorization: {
    approved: 'authorization_connected',
    denied: 'authorization_declined',
    expired: 'authorization_expired',
  },
};

/**
 * @internal Records the user's decision on a waiting call: only its owner may decide (another
 * user's call reads as missing), only once, and only before it expires. The move from `pending`
 * is a check-and-set in storage, so two racing decisions cannot both win. `kind` says which of
 * the call's records is decided: its consent (`approve`/`deny`) or its authorization
 * (`completeAuthorization`: connected is `approved`, declined `denied`).
 */
export async function decide(
  storage: Storage,
  callId: string,
  scope: OwnerScope & { runId?: string },
  decision: { status: 'approved' | 'denied'; reason?: string },
  now: () => number,
  kind: ApprovalKind = 'consent',
): Promise<ApprovalRecord> {
  const what = kind === 'consent' ? 'approval' : 'authorization';
  const approval = await storage.getApproval(callId, { userId: scope.userId, kind });
  if (approval === undefined || (scope.runId !== undefined && approval.runId !== scope.runId))
    throw new StewardError('approval_not_found', `No ${what} for call ${callId}`);
  const at = new Date(now());
  if (approval.status === 'expired') {
    throw new StewardError(
      'approval_expired',
      `The ${what} for call ${callId} expired at ${approval.expiresAt}`,
    );
  }
  if (approval.status === 'pending' && Date.parse(approval.expiresAt) <= at.getTime()) {
    const expired = await storage.transitionApproval(callId, 'pending', { status: 'expired' }, kind);
    if (expired !== undefined) {
      await storage.appendAudit({
        at: at.toISOString(),
        action: actions[kind].expired,
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
      `The ${what} for call ${callId} expired at ${approval.expiresAt}`,
    );
  }
  const decided = await storage.transitionApproval(
    callId,
    'pending',
    {
      status: decision.status,
      decidedAt: at.toISOString(),
      decidedBy: scope.userId,
      ...(decision.reason === undefined ? {} : { reason: decision.reason }),
    },
    kind,
  );
  if (decided === undefined) {
    throw new StewardError(
      'approval_conflict',
      `The ${what} for call ${callId} was already ${approval.status}`,
    );
  }
  await storage.appendAudit({
    at: at.toISOString(),
    action: actions[kind][decision.status],
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
