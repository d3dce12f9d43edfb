import { StewardError } from '../errors/steward-error.ts';
import type {
  ApprovalKind,
  ApprovalRecord,
  AuditEntry,
  ExecutionRecord,
  ToolPermission,
} from './consent-records.ts';
import type { ConsentStore } from './storage.ts';

/**
 * @internal The approvals, execution ledger, audit log and tool permissions of the in-memory
 * storage. Each check-and-set runs without an await in between, which is what makes it atomic
 * in one process.
 */
export function createInMemoryConsent(): ConsentStore {
  // Keyed by kind and call: a call may wait for consent and, later, for an authorization.
  const approvals = new Map<string, ApprovalRecord>();
  const keyOf = (callId: string, kind: ApprovalKind = 'consent') => `${kind}:${callId}`;
  const executions = new Map<string, ExecutionRecord>();
  const audit: AuditEntry[] = [];
  const permissions: ToolPermission[] = [];
  const samePermission = (a: Omit<ToolPermission, 'grantedAt'>, b: Omit<ToolPermission, 'grantedAt'>) =>
    a.userId === b.userId && a.toolName === b.toolName && a.sessionId === b.sessionId;

  return {
    async createApproval(approval) {
      const key = keyOf(approval.callId, approval.kind);
      if (approvals.has(key)) {
        throw new StewardError('storage_error', `Call ${approval.callId} already has an approval`);
      }
      approvals.set(key, structuredClone(approval));
    },
    async getApproval(callId, scope) {
      const approval = approvals.get(keyOf(callId, scope.kind));
      return approval?.userId === scope.userId ? structuredClone(approval) : undefined;
    },
    async transitionApproval(callId, from, update, kind) {
      const key = keyOf(callId, kind);
      const approval = approvals.get(key);
      if (approval === undefined || approval.status !== from) return undefined;
      const next = { ...approval, ...update };
      approvals.set(key, next);
      return structuredClone(next);
    },
    async listApprovals(runId, scope) {
      return structuredClone(
        [...approvals.values()].filter(
          (approval) => approval.runId === runId && approval.userId === scope.userId,
        ),
      );
    },
    async beginExecution(record) {
      const existing = executions.get(record.key);
      if (existing !== undefined) return structuredClone(existing);
      executions.set(record.key, structuredClone(record));
      return undefined;
    },
    async finishExecution(key, outcome) {
      const existing = executions.get(key);
      if (existing === undefined) throw new StewardError('not_found', `No execution ${key} was started`);
      executions.set(key, { ...existing, ...structuredClone(outcome) });
    },
    async appendAudit(entry) {
      audit.push(structuredClone(entry));
    },
    async listAudit(scope) {
      return structuredClone(
        audit.filter(
          (entry) =>
            entry.userId === scope.userId && (scope.runId === undefined || entry.runId === scope.runId),
        ),
      );
    },
    async grantToolPermission(permission) {
      if (!permissions.some((existing) => samePermission(existing, permission)))
        permissions.push(structuredClone(permission));
    },
    async revokeToolPermission(permission) {
      const index = permissions.findIndex((existing) => samePermission(existing, permission));
      if (index === -1) return false;
      permissions.splice(index, 1);
      return true;
    },
    async listToolPermissions(scope) {
      return structuredClone(permissions.filter((permission) => permission.userId === scope.userId));
    },
  };
}
