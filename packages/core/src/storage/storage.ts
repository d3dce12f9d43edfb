import type { StewardEvent, StopReason } from '../events/stream-event.ts';
import type { Usage } from '../events/usage.ts';
import type { Message } from '../model/message.ts';
import type {
  ApprovalKind,
  ApprovalRecord,
  AuditEntry,
  ExecutionRecord,
  ToolPermission,
} from './consent-records.ts';

/** A conversation, owned by one user. */
export interface SessionRecord {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: string;
}

/**
 * - `running`: the run loop is working on it.
 * - `awaiting_approval`: paused until the user decides on a tool call; any instance may resume it.
 * - `completed`: it ended normally (`stop`, `length`, `content_filter`, `max_steps`).
 * - `aborted`: stopped by the user or the caller's signal.
 * - `failed`: it ended on an error, a stall or a timeout; its partial text is kept.
 * - `interrupted`: its instance died mid-run (no heartbeat); its partial text is kept.
 */
export type RunStatus = 'running' | 'awaiting_approval' | 'completed' | 'aborted' | 'failed' | 'interrupted';

/** One run of the assistant, and how it ended. */
export interface RunRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly status: RunStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly stopReason?: StopReason;
  readonly text?: string;
  readonly partial?: boolean;
  readonly usage?: Usage;
  /** The run's per-run options, so a resumed run keeps them. */
  readonly options?: RunRecordOptions;
  /** Rises with every status transition: a claim names the epoch it saw, so a stale claim fails. */
  readonly epoch?: number;
}

/** Per-run options as stored with the run. */
export interface RunRecordOptions {
  readonly maxOutputTokens?: number | undefined;
  readonly toolOverrides?:
    | { readonly allow?: readonly string[] | undefined; readonly deny?: readonly string[] | undefined }
    | undefined;
  /** The W3C trace context of the run's first span: a run resumed elsewhere links its span to it. */
  readonly traceparent?: string | undefined;
}

/**
 * The fencing token of a run's writer: the run's `epoch` as this writer last set or saw it (0 for
 * the run's creator; each `transitionRun` it makes returns the next). A write that carries it is
 * refused with `run_fenced`, storing nothing, once the stored epoch has moved on, i.e. once
 * another instance claimed the run (resumed or recovered it).
 */
export interface RunFence {
  readonly epoch: number;
}

/** What may change on a run after it was created. */
export type RunUpdate = Partial<Pick<RunRecord, 'status' | 'stopReason' | 'text' | 'partial' | 'usage'>>;

/** A message as stored: its place in a session and the run that wrote it. */
export interface StoredMessage {
  readonly id: string;
  readonly sessionId: string;
  readonly runId: string;
  readonly createdAt: string;
  readonly message: Message;
}

/** Read access is always scoped to one user: another user's records read as missing. */
export interface OwnerScope {
  readonly userId: string;
}

/** What {@link Storage.compactMessages} replaces, and with what. */
export interface MessageCompaction {
  /** The newest message to replace: it and every older message of the session give way to `summary`. */
  readonly throughMessageId: string;
  /** The run the summary is stored under (any id: it need not name a stored run). */
  readonly runId: string;
  /** The one message that takes their place, e.g. from `compactSession`. */
  readonly summary: Message;
}

/** The outcome of {@link Storage.compactMessages}. */
export interface CompactedMessages {
  /** The summary as stored: it keeps the id and time of `throughMessageId`, so it lists first. */
  readonly summary: StoredMessage;
  /** How many messages it replaced, `throughMessageId` included. */
  readonly replaced: number;
}

/**
 * The storage seam: sessions, their messages, runs and each run's events by `seq`.
 *
 * Contract every adapter keeps (the conformance suite in `@steward/testing` checks it):
 * - reads take the caller's `userId` and treat another user's records as missing;
 * - `appendEvents` accepts only the next `seq`s of a run (no gaps) and rejects anything else with
 *   a `storage_error` whose `details.lastSeq` is the run's last stored seq, storing nothing of
 *   that batch. It is idempotent: a batch resent after a lost reply (the same seqs with the same
 *   content, all or part of it already stored) succeeds and stores what was missing; a batch
 *   whose stored seqs hold other content is a `storage_error` (`details.conflictSeq`);
 * - a write of a run that carries a {@link RunFence} (`appendEvents`, `updateRun`,
 *   `appendMessages`) is checked against the run's stored epoch in the same atomic step as the
 *   write: a stale one is refused with `run_fenced` (`details.epoch`, `details.currentEpoch`) and
 *   nothing of it is stored, so an instance that lost its run can never write over its new owner;
 * - `listEvents` returns events in `seq` order after `afterSeq`, at most `limit` of them when
 *   given, so a reader can page through a long run with bounded memory;
 * - `listMessages` returns the newest `limit` messages in the order they were appended.
 */
export interface Storage {
  /**
   * Returns the session, creating it for `userId` when it does not exist. Rejects with
   * `session_not_found` when it exists but belongs to another user.
   */
  ensureSession(sessionId: string, scope: OwnerScope): Promise<SessionRecord>;
  getSession(sessionId: string, scope: OwnerScope): Promise<SessionRecord | undefined>;
  /**
   * Appends messages to the session. With `fence`, they are stored only while run `fence.runId`
   * is still at `fence.epoch` (else `run_fenced`, nothing stored).
   */
  appendMessages(
    sessionId: string,
    messages: readonly { runId: string; message: Message }[],
    fence?: RunFence & { readonly runId: string },
  ): Promise<void>;
  listMessages(sessionId: string, scope: OwnerScope & { limit?: number }): Promise<readonly StoredMessage[]>;
  /**
   * Replaces the messages of a session up to and including `throughMessageId` with one summary
   * message, atomically: readers see all the old messages or the summary, never a mix, and a
   * message appended meanwhile is kept after it. Rejects with `session_not_found` when the
   * session does not exist for this user, `not_found` when the message is not in the session,
   * and `storage_error` for a summary it would not store through `appendMessages`.
   */
  compactMessages(
    sessionId: string,
    scope: OwnerScope,
    compaction: MessageCompaction,
  ): Promise<CompactedMessages>;
  createRun(run: RunRecord): Promise<void>;
  /** Changes a run's record; with `fence`, only while the run is still at `fence.epoch` (else `run_fenced`). */
  updateRun(runId: string, update: RunUpdate, fence?: RunFence): Promise<void>;
  getRun(runId: string, scope: OwnerScope): Promise<RunRecord | undefined>;
  /** Appends a run's next events (see the contract above); with `fence`, only while the run is still at `fence.epoch`. */
  appendEvents(runId: string, events: readonly StewardEvent[], fence?: RunFence): Promise<void>;
  /**
   * A run's events after `afterSeq` (default 0), oldest first; at most `limit` of them when given
   * (a page: ask again after the last seq returned). Unbounded without `limit`.
   */
  listEvents(
    runId: string,
    scope: OwnerScope & { afterSeq?: number; limit?: number },
  ): Promise<readonly StewardEvent[]>;
  /**
   * Runs still `running` whose record was last updated before `updatedBefore` (ISO-8601), of
   * every user: a live run's instance touches it on a heartbeat, so these lost theirs.
   */
  listStaleRuns(updatedBefore: string, options?: { limit?: number }): Promise<readonly RunRecord[]>;
  /**
   * Moves a run from `from` to `to` only if it is still in `from` (and, when given, still at
   * `epoch`); resolves the new epoch, or `undefined` when it was not. This is how exactly one
   * instance resumes a paused run, and why a claim based on an old look at the run fails.
   */
  transitionRun(runId: string, from: RunStatus, to: RunStatus, epoch?: number): Promise<number | undefined>;

  /**
   * Records a pending approval; rejects with `storage_error` if the call already has one of
   * that `kind` (a call may have one of each kind).
   */
  createApproval(approval: ApprovalRecord): Promise<void>;
  /**
   * The approval of a call of `scope.kind` (default `consent`), or `undefined` when it does not
   * exist for this user.
   */
  getApproval(
    callId: string,
    scope: OwnerScope & { kind?: ApprovalKind },
  ): Promise<ApprovalRecord | undefined>;
  /**
   * Moves the call's approval of `kind` (default `consent`) from `from` to `to` (with the
   * decision fields) only if it is still in `from`; resolves the updated record, or `undefined`
   * when it was not. Single use rests on it.
   */
  transitionApproval(
    callId: string,
    from: ApprovalRecord['status'],
    update: Pick<ApprovalRecord, 'status'> &
      Partial<Pick<ApprovalRecord, 'decidedAt' | 'decidedBy' | 'reason'>>,
    kind?: ApprovalKind,
  ): Promise<ApprovalRecord | undefined>;
  /** The run's approvals of every kind, oldest first. */
  listApprovals(runId: string, scope: OwnerScope): Promise<readonly ApprovalRecord[]>;

  /**
   * Starts an execution unless its key exists: resolves `undefined` when this call may run, or
   * the existing record (never run the call twice).
   */
  beginExecution(record: ExecutionRecord): Promise<ExecutionRecord | undefined>;
  finishExecution(
    key: string,
    outcome: Pick<ExecutionRecord, 'status' | 'finishedAt' | 'result' | 'error'>,
  ): Promise<void>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /** The audit log of one user, optionally of one run, oldest first. */
  listAudit(scope: OwnerScope & { runId?: string }): Promise<readonly AuditEntry[]>;

  grantToolPermission(permission: ToolPermission): Promise<void>;
  revokeToolPermission(permission: Omit<ToolPermission, 'grantedAt'>): Promise<boolean>;
  listToolPermissions(scope: OwnerScope): Promise<readonly ToolPermission[]>;
}

/** The consent part of {@link Storage}: approvals, the execution ledger, the audit log, permissions. */
export type ConsentStore = Pick<
  Storage,
  | 'createApproval'
  | 'getApproval'
  | 'transitionApproval'
  | 'listApprovals'
  | 'beginExecution'
  | 'finishExecution'
  | 'appendAudit'
  | 'listAudit'
  | 'grantToolPermission'
  | 'revokeToolPermission'
  | 'listToolPermissions'
>;
