import {
  type ApprovalRecord,
  type Assistant,
  type AuditEntry,
  type InputRequiredEvent,
  type InputResponse,
  openInputRequests,
  type RunRecord,
  type StoredMessage,
  type ToolPermission,
  type Usage,
} from '@steward/core';
import type { Authenticator } from '@steward/transport-ws';
import { settleRun } from './settle.ts';

/**
 * What the pages need from the orchestrator, every call scoped to the signed-in user. The
 * in-process implementation below calls the `Assistant` directly; pattern A (the frontend
 * forwarding to a remote orchestrator with a service token that carries the user) implements the
 * same interface over the orchestrator's API, and the pages and script stay as they are.
 */
export interface ChatBackend {
  /** Starts a run; rejects with the assistant's `session_busy`, `rate_limited`, `session_not_found`. */
  start(userId: string, sessionId: string, input: string): Promise<{ runId: string }>;
  history(userId: string, sessionId: string): Promise<readonly StoredMessage[]>;
  run(userId: string, runId: string): Promise<RunRecord | undefined>;
  approvals(userId: string, runId: string): Promise<readonly ApprovalRecord[]>;
  approval(userId: string, callId: string): Promise<ApprovalRecord | undefined>;
  /** Approves or denies; `always` also grants the tool for every later call. */
  decide(
    userId: string,
    callId: string,
    decision: 'approve' | 'deny',
    options?: { always?: boolean },
  ): Promise<void>;
  /** A running run's requests for input still waiting for the user (a tool's form or link). */
  pendingInputs(userId: string, runId: string): Promise<readonly InputRequiredEvent[]>;
  /**
   * Answers a request for input; rejects with core's `invalid_input` (`details.issues`, the
   * request stays open), `input_not_found` or `input_conflict`.
   */
  respondToInput(userId: string, runId: string, requestId: string, response: InputResponse): Promise<void>;
  stop(userId: string, runId: string): Promise<void>;
  /** Resolves once the run ended or waits for the user, or after `timeoutMs` (a form post without script). */
  settle(userId: string, runId: string, timeoutMs: number): Promise<void>;
  /** A short-lived token for one run, for the page's WebSocket (pattern B). */
  runToken(userId: string, runId: string): Promise<string>;
  permissions(userId: string): Promise<readonly ToolPermission[]>;
  revokePermission(userId: string, toolName: string, sessionId?: string): Promise<boolean>;
  audit(userId: string): Promise<readonly AuditEntry[]>;
  /**
   * Deletes everything the orchestrator stores about the user when its storage can
   * (`deleteUser`, as PostgreSQL storage has); resolves whether it could.
   */
  deleteUserData(userId: string): Promise<{ deleted: boolean }>;
}

/** A storage that can delete a user's data (PostgreSQL's does; core's in-memory one has no such method). */
interface UserDeletion {
  deleteUser(userId: string): Promise<unknown>;
}
const canDeleteUsers = (storage: unknown): storage is UserDeletion =>
  typeof (storage as Partial<UserDeletion>).deleteUser === 'function';

/** The pages over an `Assistant` in this process (the one-command demo). */
export function createInProcessBackend(assistant: Assistant, auth: Authenticator): ChatBackend {
  return {
    async start(userId, sessionId, input) {
      return { runId: (await assistant.start({ input, userId, sessionId })).id };
    },
    history: (userId, sessionId) => assistant.getHistory(sessionId, { userId }),
    run: (userId, runId) => assistant.getRun(runId, { userId }),
    approvals: (userId, runId) => assistant.storage.listApprovals(runId, { userId }),
    approval: (userId, callId) => assistant.storage.getApproval(callId, { userId }),
    async decide(userId, callId, decision, options = {}) {
      if (decision === 'deny') {
        await assistant.deny(callId, { userId, reason: 'denied in the chat page' });
        return;
      }
      const { approval } = await assistant.approve(callId, { userId });
      if (options.always === true) await assistant.allowTool({ userId, toolName: approval.toolName });
    },
    async pendingInputs(userId, runId) {
      const run = await assistant.getRun(runId, { userId });
      if (run?.status !== 'running') return [];
      return openInputRequests(await assistant.storage.listEvents(runId, { userId }));
    },
    respondToInput: (userId, runId, requestId, response) =>
      assistant.respondToInput(runId, requestId, response, { userId }),
    stop: (userId, runId) => assistant.stop(runId, { userId }),
    settle: (userId, runId, timeoutMs) => settleRun(assistant, runId, userId, timeoutMs),
    runToken: (userId, runId) => auth.issueRunToken({ userId, runId }),
    permissions: (userId) => assistant.storage.listToolPermissions({ userId }),
    revokePermission: (userId, toolName, sessionId) =>
      assistant.revokeTool({ userId, toolName, ...(sessionId === undefined ? {} : { sessionId }) }),
    audit: (userId) => assistant.getAudit({ userId }),
    async deleteUserData(userId) {
      if (!canDeleteUsers(assistant.storage)) {
        // What core's in-memory storage offers: the standing permissions go; the conversations
        // stay in this process's memory (unlisted, unreadable from the pages) until it restarts.
        for (const permission of await assistant.storage.listToolPermissions({ userId }))
          await assistant.revokeTool({
            userId,
            toolName: permission.toolName,
            ...(permission.sessionId === undefined ? {} : { sessionId: permission.sessionId }),
          });
        return { deleted: false };
      }
      await assistant.storage.deleteUser(userId);
      return { deleted: true };
    },
  };
}

/** Adds up usage over runs, for the settings page. */
export function addUsage(usages: readonly (Usage | undefined)[]): {
  runs: number;
  input: number;
  output: number;
  total: number;
} {
  let runs = 0;
  let input = 0;
  let output = 0;
  let total = 0;
  for (const usage of usages) {
    if (usage === undefined) continue;
    runs += 1;
    input += usage.input_tokens;
    output += usage.output_tokens;
    total += usage.total_tokens;
  }
  return { runs, input, output, total };
}
