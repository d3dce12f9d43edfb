/**
 * - `pending`: waiting for the user.
 * - `approved`: the user said yes; not used yet.
 * - `used`: the approved call ran (or started); an approval is single-use.
 * - `denied`: the user said no.
 * - `expired`: nobody decided in time.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'used' | 'denied' | 'expired';

/** A recorded request for the user's consent to one tool call, bound to its exact arguments. */
export interface ApprovalRecord {
  readonly callId: string;
  readonly runId: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly toolName: string;
  /** SHA-256 of the canonical JSON of the arguments: an approval applies to these arguments only. */
  readonly argsHash: string;
  readonly args: unknown;
  readonly status: ApprovalStatus;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt?: string;
  readonly decidedBy?: string;
  readonly reason?: string;
}

/**
 * One side-effect execution, keyed by run and call. `started` with no end means the process
 * died mid-call: the outcome is unknown, and the call is reported, never run again.
 */
export interface ExecutionRecord {
  readonly key: string;
  readonly runId: string;
  readonly callId: string;
  readonly toolName: string;
  readonly argsHash: string;
  readonly status: 'started' | 'succeeded' | 'failed';
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What the audit log records. */
export type AuditAction =
  | 'approval_requested'
  | 'approval_granted'
  | 'approval_denied'
  | 'approval_expired'
  | 'execution_started'
  | 'execution_succeeded'
  | 'execution_failed'
  | 'execution_refused'
  | 'permission_granted'
  | 'permission_revoked';

/** One line of the append-only audit log. */
export interface AuditEntry {
  readonly at: string;
  readonly action: AuditAction;
  /** Whose data or run this is about. */
  readonly userId: string;
  /** Who acted: the user, or `steward` for the system. */
  readonly actor: string;
  readonly runId?: string;
  readonly callId?: string;
  readonly toolName?: string;
  readonly argsHash?: string;
  readonly detail?: string;
}

/** A user's standing consent for a tool: always, or for one session. */
export interface ToolPermission {
  readonly userId: string;
  readonly toolName: string;
  /** Set for "allow for this session"; absent for "always allow". */
  readonly sessionId?: string;
  readonly grantedAt: string;
}
