/**
 * - `pending`: waiting for the user.
 * - `approved`: the user said yes; not used yet.
 * - `used`: the approved call ran (or started); an approval is single-use.
 * - `denied`: the user said no.
 * - `expired`: nobody decided in time.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'used' | 'denied' | 'expired';

/**
 * What a paused call waits for:
 * - `consent`: the user's yes or no to a side-effect call (`approve` / `deny`).
 * - `authorization`: the user connecting their account on the tool's server (OAuth); decided by
 *   `completeAuthorization` (`connected` → `approved`, `declined` → `denied`).
 *
 * A call may have one record of each kind: a consented call can still find its server wants
 * the user to connect first.
 */
export type ApprovalKind = 'consent' | 'authorization';

/**
 * A recorded request for the user's decision on one tool call, bound to its exact arguments:
 * their consent, or (kind `authorization`) that they connect the call's server.
 */
export interface ApprovalRecord {
  readonly callId: string;
  readonly kind: ApprovalKind;
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
  /** Kind `authorization`: the server the user is asked to connect. */
  readonly server?: string;
  /**
   * Kind `authorization`: where the user authorizes. It carries the single-use OAuth `state`, so
   * it goes to the run's user (event, this record) and never to the model.
   */
  readonly authorizationUrl?: string;
  /** Kind `authorization`: the scopes asked for, when the server said. */
  readonly scopes?: readonly string[];
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
  | 'permission_revoked'
  | 'authorization_requested'
  | 'authorization_connected'
  | 'authorization_declined'
  | 'authorization_expired';

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
